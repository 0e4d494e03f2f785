"""Control-flow nodes: compiled into native Step Functions states, no Lambda of their own."""
