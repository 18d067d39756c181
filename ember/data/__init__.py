"""``ember.data``: datasets, samplers and the DataLoader, mirroring ``torch.utils.data``
(also reachable as ``ember.utils.data``); tf.data's pipeline on the same ``Dataset`` class
(``Dataset.from_tensor_slices(...).map(...).batch(...)``); ``transforms`` (torchvision's)
and ``datasets`` (offline: Fashion-MNIST, MNIST, Digits, CIFAR-10, ImageFolder).

>>> from ember.data import DataLoader, TensorDataset
>>> ds = TensorDataset(ember.arange(10.0), ember.arange(10))
>>> [x.shape for x, y in DataLoader(ds, batch_size=4)]
[ember.Size([4]), ember.Size([4]), ember.Size([2])]
"""
from ember.data._collate import default_collate, default_convert
from ember.data._worker_loop import WorkerInfo, get_worker_info
from ember.data.dataloader import DataLoader
from ember.data.dataset import ChainDataset, ConcatDataset, Dataset, IterableDataset, \
    StackDataset, Subset, TensorDataset, random_split
from ember.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, \
    SubsetRandomSampler, WeightedRandomSampler
from ember.data import pipeline
from ember.data.pipeline import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, \
    Pipeline, TensorSpec
from ember.data import datasets, transforms

# tf.data's constructors live on the same Dataset class that PyTorch-style code subclasses
for _name in ("from_tensor_slices", "from_tensors", "from_generator", "range", "zip"):
    setattr(Dataset, _name, staticmethod(getattr(pipeline, _name)))
del _name

__all__ = ["AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "Pipeline",
           "TensorSpec", "datasets", "transforms", "BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset",
           "IterableDataset", "RandomSampler", "Sampler", "SequentialSampler",
           "StackDataset", "Subset", "SubsetRandomSampler", "TensorDataset",
           "WeightedRandomSampler", "WorkerInfo", "default_collate", "default_convert",
           "get_worker_info", "random_split"]
