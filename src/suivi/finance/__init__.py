"""Money: the financial lines of each commitment (asked, voted, paid, justified), their
rules, roll-ups, open data (SCDL subventions) and routes."""
