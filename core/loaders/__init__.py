"""Reading and writing logits files for Softmax Lab.

``load_logits`` turns a user-supplied file (.npy, .npz, .pt/.pth, .csv/.tsv/.txt) into a
``LoadedLogits`` record: an (N, C) floating array plus, where the file has them, integer labels,
class names, images, texts, per-sample metadata, and for language models the token ids, mask
and vocabulary. ``load_labels`` reads a labels file for a loaded table and ``load_vocabulary``
a tokenizer. Every way a file can be wrong ends in a ``DataError`` whose message names the file
and the problem in plain words, because these messages are shown to users as-is.

Two rules shape this package:

* Never run code from a file. NumPy files are read with ``allow_pickle=False`` and PyTorch files
  with ``weights_only=True``; a file that would need unpickling is refused, not "trusted".
* Do not copy big arrays needlessly. A 2-D float32/float64 C-contiguous ``.npy`` comes back as a
  read-only ``np.memmap``, and so do the logits of an uncompressed ``.npz``; ``.pt`` files are
  memory-mapped by torch; text tables are parsed straight into their final array.

All returned arrays are read-only (memmaps are by nature, the others are made so), so that code
downstream behaves the same whichever format the data came from.

Modules: ``loading`` (dispatch), ``numpy_files``, ``torch_files``, ``text_files`` and
``text_engines`` (readers), ``members`` (which .npz/.pt entry plays which part), ``_build``
(the checks shared by every format), ``extras`` (images, texts, metadata), ``sequences`` and
``vocab`` (language models), ``labels`` (``load_labels``), ``saving`` (writers), ``_common``.

No Qt here; PyTorch is imported lazily, only for .pt/.pth files; ``pyarrow`` (faster text
tables) and ``tokenizers`` (tokenizer.json) are used when installed and never required.
"""

from softmax_lab.core.constants import IGNORE_INDEX
from softmax_lab.core.loaders._common import DataError, LoadedLogits, available_memory
from softmax_lab.core.loaders.labels import load_labels
from softmax_lab.core.loaders.loading import load_logits
from softmax_lab.core.loaders.saving import save_logits, save_results_csv
from softmax_lab.core.loaders.vocab import load_vocabulary

__all__ = [
    "IGNORE_INDEX",
    "DataError",
    "LoadedLogits",
    "available_memory",
    "load_labels",
    "load_logits",
    "load_vocabulary",
    "save_logits",
    "save_results_csv",
]
