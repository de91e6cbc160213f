"""The statutory annual report's procedure (consultation, opinions, approval, publication),
the conseils citoyens and their comments on commitments."""
