"""The tray application: an icon whose look shows the state, a live menu, desktop
notifications; a thin adapter over :class:`~tray_app.adapters.service.Service`."""
