"""HH Raiser: keeps a job seeker's hh.ru resumes at the top of search."""

APP_NAME = "HH Raiser"
APP_ID = "hh-raiser"
__version__ = "0.1.0"
PROJECT_REPOSITORY = "hh-raiser/hh-raiser"
"""The GitHub repository (owner/name) whose latest release the update check asks for."""
