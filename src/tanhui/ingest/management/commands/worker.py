import logging
import time

from django.core.management.base import BaseCommand

from tanhui.ingest import services
from tanhui.ingest.pipeline import process_batch
from tanhui.ingest.signals import batch_processed
from tanhui.people.guards import purge as purge_login_data

log = logging.getLogger("tanhui.worker")
PURGE_EVERY_SECONDS = 3600


class Command(BaseCommand):
    help = "Process batches received through the API (runs until stopped; --once drains the queue and exits)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true")
        parser.add_argument("--poll", type=float, default=1.0, help="seconds between looks at the queue")

    def handle(self, once, poll, **options):
        next_purge = 0.0
        while True:
            if time.monotonic() >= next_purge:  # rejected records past their retention period, old login codes
                services.purge_expired_rejects()
                purge_login_data()
                next_purge = time.monotonic() + PURGE_EVERY_SECONDS
            batch = services.claim_next_batch()
            if batch is None:
                if requeued := services.requeue_interrupted():
                    log.info("requeued %d batches left by a worker that died", requeued)
                    continue
                if once:
                    return
                time.sleep(poll)
                continue
            try:
                process_batch(batch, services.batch_files(batch))
            except Exception:  # the batch is marked failed with its error; keep serving the others
                log.exception("batch %s failed", batch.pk)
                continue
            finally:
                services.release_batch(batch)
            for receiver, error in batch_processed.send_robust(sender=batch):
                if error:
                    log.error("after batch %s, %s failed: %s", batch.pk, receiver, error)
