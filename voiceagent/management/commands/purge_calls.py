"""`manage.py purge_calls [--dry-run]`: blank transcripts and caller messages older than
CALL_RETENTION_DAYS (voiceagent.retention). Meant to run daily, from cron or a timer."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from voiceagent.retention import purge_calls


class Command(BaseCommand):
    help = "Remove call transcripts and caller messages older than CALL_RETENTION_DAYS; keep outcomes and figures."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Say what would be removed; change nothing.")

    def handle(self, *, dry_run, **options):
        done = purge_calls(dry_run=dry_run)
        before = timezone.localtime(done.cutoff).strftime("%Y-%m-%d %H:%M")
        verb = "Would remove" if dry_run else "Removed"
        self.stdout.write(
            f"{verb} the transcript and message of {done.calls} call{'s' if done.calls != 1 else ''} "
            f"and the message of {done.callbacks} call-back{'s' if done.callbacks != 1 else ''} "
            f"from before {before} (CALL_RETENTION_DAYS={settings.CALL_RETENTION_DAYS})."
        )
