"""Channel adapters: turn a channel's input into an Inbound and render the replies back."""
