"""Linearizability: the WGL search (search.py), the graph method over version blocks
(graph.py), and the models they step (models.py)."""
