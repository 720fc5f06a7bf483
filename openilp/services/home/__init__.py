"""The signed-in home page: what the agency holds and what waits for the user today.

* :mod:`~openilp.services.home.dashboard` — holdings with the span the data really cover, open
  problems, tips and reviews waiting, the latest notices and the week the next forecast is for.
"""

from openilp.services.home.dashboard import Holdings, HomeDashboard, home_dashboard

__all__ = ["HomeDashboard", "Holdings", "home_dashboard"]
