"""Django, ready in every process of the voice worker.

LiveKit starts job processes from a forkserver on Linux, not from
`manage.py`'s process, so the `django.setup()` that `manage.py` ran does not
exist there and the first model import fails with AppRegistryNotReady. The
worker lists this module in the forkserver's preload (every job process is
forked from an image that already imported it), and the agent module imports
it before any model import, which covers the `spawn` start method too.

It must not touch the database: a connection opened here would be one socket
shared by every forked call.
"""

import os

import django
from django.apps import apps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
if not apps.ready:  # in manage.py's own process Django is up already; setup() again would redo logging
    django.setup()
