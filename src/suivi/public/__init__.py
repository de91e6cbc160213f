"""Public pages and JSON (no login): the contract, its quartiers, published annual reports."""
