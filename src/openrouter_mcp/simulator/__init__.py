"""The offline OpenRouter: an HTTP server that answers in OpenRouter's wire format from a simulated model catalog, billing every generation, logging every request and injecting faults on request."""
