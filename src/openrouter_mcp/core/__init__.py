"""What every layer above `upstream` and `storage` shares: the application's interface as services see
it (`context`), progress reporting (`progress`) and the shape of a tool's result (`results`)."""
