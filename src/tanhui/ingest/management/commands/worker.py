import logging
import time

from django.core.management.base import BaseCommand

from tanhui.ingest import services
from tanhui.ingest.pipeline import process_batch
from tanhui.ingest.signals import batch_processed, worker_idle
from tanhui.people.guards import purge as purge_login_data

log = logging.getLogger("tanhui.worker")
PURGE_EVERY_SECONDS = 3600
IDLE_SIGNAL_EVERY_SECONDS = 60


class Command(BaseCommand):
    help = "Process batches received through the API (runs until stopped; --once drains the queue and exits)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true")
        parser.add_argument("--poll", type=float, default=1.0, help="seconds between looks at the queue")

    def handle(self, once, poll, **options):
        next_purge = next_idle_signal = 0.0
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
                if once or time.monotonic() >= next_idle_signal:
                    _send(worker_idle, "while idle")
                    next_idle_signal = time.monotonic() + IDLE_SIGNAL_EVERY_SECONDS
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
            _send(batch_processed, f"after batch {batch.pk}", sender=batch)


def _send(signal, when: str, sender=None) -> None:
    """A receiver that fails is logged; the worker keeps serving batches."""
    for receiver, error in signal.send_robust(sender=sender):
        if error:
            log.error("%s, %s failed: %s", when, receiver, error)
