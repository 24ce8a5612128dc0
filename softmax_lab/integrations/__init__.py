"""Softmax Lab where the logits are made: one line in a training script records a run.

* ``softmax_lab.integrations.transformers.RunCallback``: Hugging Face ``Trainer``.
* ``softmax_lab.integrations.lightning.RunCallback``: Lightning (``pytorch_lightning``).

Each evaluation writes one step of a run (``core.runs.RunWriter``) from the predictions the
trainer computed anyway: no extra forward pass. Neither module imports Qt; ``live=True`` opens
the window lazily (``_recorder.Recorder``).
"""
