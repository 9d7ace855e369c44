from django.core.management.base import BaseCommand
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from clinic import demo

SIZES = {"large": demo.LARGE, "xlarge": demo.XLARGE}


class Command(BaseCommand):
    help = "Create a believable demo clinic (safe to run twice); --size large or xlarge grows it for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=["demo", *SIZES], default="demo",
                            help="large: 50 providers, 50,000 patients, 100,000 appointments; "
                                 "xlarge (on an empty database): 50 providers, 500,000 patients, "
                                 "1,000,000 appointments over two years.")

    def handle(self, *, size, **options):
        if size in SIZES:
            with Progress(TextColumn("  {task.description:<13}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=None, transient=False) as bar:
                tasks = {}

                def progress(what, done, total):
                    if what not in tasks:
                        tasks[what] = bar.add_task(what, total=total)
                    bar.update(tasks[what], completed=done, total=total)

                demo.seed_large(size=SIZES[size], log=lambda line: bar.console.print(f"  {line}"),
                                progress=progress)
            self.stdout.write(self.style.SUCCESS(f"{size.capitalize()} demo data is in place."))
            return
        created = demo.seed_demo()
        if not created:
            self.stdout.write("The demo clinic is already there; nothing changed.")
            return
        summary = ", ".join(f"{n} {what}" for what, n in created.items())
        self.stdout.write(self.style.SUCCESS(f"Demo clinic created: {summary}."))
