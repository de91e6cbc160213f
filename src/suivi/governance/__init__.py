"""The committee cycle: meetings' agenda and participants, decisions and their follow-up."""
