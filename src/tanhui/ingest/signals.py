from django.dispatch import Signal

# Sent by the worker after each batch it processed (sender: the Batch), outside the batch's
# transaction. Read models that follow the credits (leaderboards) catch up on it.
batch_processed = Signal()

# Sent by the worker when it finds the queue empty, at most once a minute (and before `--once`
# exits): read models catch up on batches credited without the worker, such as `tanhui ingest`'s.
worker_idle = Signal()
