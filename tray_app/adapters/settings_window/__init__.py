"""The settings window: a tkinter process of its own (``hh-raiser settings``), so it
never competes with the tray for the main thread. ``form.py`` holds the logic
(validation, saving, telling the running instance), ``window.py`` only the widgets."""
