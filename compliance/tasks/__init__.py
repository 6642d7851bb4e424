from compliance.tasks.nachschau import *  # noqa: F403
from compliance.tasks.reminders import *  # noqa: F403
