"""``python -m dashboard``: serve the dashboard with its protective settings pinned."""

from dashboard.server import main

main()
