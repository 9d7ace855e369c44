from django.core.management.base import BaseCommand

from clinic import demo


class Command(BaseCommand):
    help = "Create a believable demo clinic (safe to run twice); --size large grows it for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=["demo", "large"], default="demo",
                            help="large: 50 providers, 50,000 patients, 100,000 appointments.")

    def handle(self, *, size, **options):
        if size == "large":
            demo.seed_large(log=lambda line: self.stdout.write(f"  {line}"))
            self.stdout.write(self.style.SUCCESS("Large demo data is in place."))
            return
        created = demo.seed_demo()
        if not created:
            self.stdout.write("The demo clinic is already there; nothing changed.")
            return
        summary = ", ".join(f"{n} {what}" for what, n in created.items())
        self.stdout.write(self.style.SUCCESS(f"Demo clinic created: {summary}."))
