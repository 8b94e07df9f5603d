"""The idxd engine: watches stage inboxes, dispatches ready files to handlers, and remembers
what it did in a ledger. It runs whatever stage table an application gives it."""
