"""HH Raiser: keeps a job seeker's hh.ru resumes at the top of search."""

APP_NAME = "HH Raiser"
APP_ID = "hh-raiser"
__version__ = "0.1.0"
