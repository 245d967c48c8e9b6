"""Self-play (ML-Agents' ghost trainer): behavior ids with teams, the team that learns, the
snapshots the other teams play, and ELO."""
