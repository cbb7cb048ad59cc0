"""The domain: everything the tools do, knowing nothing of MCP. The foundation services (`ledger`, the
catalog's `store`, `jobs`) take the application's `core.context.Core` and sit below `App`; the capability
packages (`catalog`, `media`, `bench`, `collective`) and the modules `chat`, `pricing`, `usage`, `checks`
and `tokens` are handed `App` by the tools."""
