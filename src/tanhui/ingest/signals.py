from django.dispatch import Signal

# Sent by the worker after each batch it processed (sender: the Batch), outside the batch's
# transaction. Read models that follow the credits (leaderboards) catch up on it.
batch_processed = Signal()
