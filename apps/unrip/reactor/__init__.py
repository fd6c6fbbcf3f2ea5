"""The reactor: turns swap demands into execute-trade commands or recorded skips."""
