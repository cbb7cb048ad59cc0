"""The one rendering layer of every page this server draws: inline SVG charts (`charts`), the page shell,
its stylesheet and tables (`page`), and the views made of them (`views`: spend, budgets, account) that the
web dashboard, the MCP Apps views and the HTML benchmark report all use. Plain functions from data to
escaped HTML text; nothing here reads storage or speaks HTTP."""
