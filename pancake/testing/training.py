"""Check one epoch of a training loop by the calls it makes: the protocol, and the loss.

``check_train_one_epoch`` hands the loop a model, a loss, an optimizer and a loader that
work as usual and record what is done to them (spies). The check then tests properties
of that record, per batch: the model's forward pass on that batch, the loss of its
output, ``model.backward`` of the loss's gradient into zeroed gradients, and one
optimizer step on those gradients; every batch once; the returned loss is the mean per
sample of the losses the loss function returned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from pancake.data import ArrayDataset, DataLoader
from pancake.nn import CrossEntropyLoss, Linear, Sequential, Tanh
from pancake.optim import SGD

NEVER_CHANGE = (
    "the parameters never change: each batch needs backward(), then optimizer.step() "
    "while the gradients are still there (zero_grad() goes before backward(), never "
    "between backward() and step())"
)


TARGETS_AS_INPUTS = (
    "the model was given a batch's targets as its inputs: the loader yields pairs (inputs, "
    "targets), in that order: `for inputs, targets in loader`, then model(inputs)"
)


@dataclass
class BatchRecord:
    """What the loop did with one batch (``None``: not done)."""

    inputs: np.ndarray
    targets: np.ndarray
    forward: int | None = None  # position in the call log of the forward pass
    loss: float | None = None  # the value loss_fn returned for this batch's output
    backward: int | None = None
    step: int | None = None
    forwards: int = 0
    steps: int = 0
    # "gradients": not zero when backward started; "grad": backward of another array than
    # loss_fn.backward()'s; "step": the step saw other gradients than backward left
    problems: list[str] = field(default_factory=list)


class EpochLog:
    """The calls of one epoch: a counter of calls, the batches, and which batch is current."""

    def __init__(self, batches: list[tuple[np.ndarray, np.ndarray]]):
        self.batches = [BatchRecord(inputs, targets) for inputs, targets in batches]
        self.calls = 0
        self.current: BatchRecord | None = None  # the batch whose output was last computed
        self.output = None
        self.loss_grad = None
        self.backward_grads: list[np.ndarray] | None = None
        self.backward_shapes: list[tuple] = []  # of each grad given to model.backward
        self.targets_as_inputs = False  # the model was given a batch's targets
        self.stepped: list[int | None] = []  # the batch (its index) each step followed
        self.zero_grad_named = self.zero_grad_called = 0  # optimizer.zero_grad looked up, run
        self.loss_backward_args: tuple = ()  # what loss_fn.backward was last given

    def is_targets(self, array) -> bool:
        """Whether ``array`` is the targets of one of the batches."""
        return any(
            array is batch.targets or _same_array(array, batch.targets) for batch in self.batches
        )

    def tick(self) -> int:
        """The position of a new call in the log."""
        self.calls += 1
        return self.calls

    def batch_of(self, inputs) -> BatchRecord | None:
        """The batch whose inputs these are, or None."""
        for batch in self.batches:
            if inputs is batch.inputs or _same_array(inputs, batch.inputs):
                return batch
        return None


class SpyModel:
    """A model that records its forward and backward passes in ``log``; the rest is the model's."""

    def __init__(self, model, log: EpochLog):
        self.model, self.log = model, log

    def __call__(self, inputs):
        self.log.targets_as_inputs |= self.log.is_targets(inputs)
        batch = self.log.batch_of(inputs)
        output = self.model(inputs)
        if batch is not None:
            batch.forwards += 1
            batch.forward = self.log.tick()
        self.log.current, self.log.output = batch, output
        return output

    forward = __call__

    def backward(self, grad):
        self.log.backward_shapes.append(np.shape(grad))
        batch = self.log.current
        if batch is not None:
            if any(np.any(param.grad != 0) for param in self.model.parameters()):
                batch.problems.append("gradients")
            if self.log.loss_grad is None or not np.array_equal(grad, self.log.loss_grad):
                batch.problems.append("grad")
        returned = self.model.backward(grad)
        if batch is not None:
            batch.backward = self.log.tick()
        self.log.backward_grads = [param.grad.copy() for param in self.model.parameters()]
        return returned

    def __getattr__(self, name):
        return getattr(self.model, name)


class SpyLoss:
    """A loss that records the value it returns for each batch, and its gradient."""

    def __init__(self, loss_fn, log: EpochLog):
        self.loss_fn, self.log = loss_fn, log

    def __call__(self, pred, targets):
        loss = self.loss_fn(pred, targets)
        batch = self.log.current
        output = self.log.output
        if batch is not None and (pred is output or _same_array(pred, output)):
            batch.loss = float(loss)
        return loss

    forward = __call__

    def backward(self, *args):
        self.log.loss_backward_args = args
        self.log.loss_grad = self.loss_fn.backward(*args)
        return self.log.loss_grad

    def __getattr__(self, name):
        return getattr(self.loss_fn, name)


class SpyOptimizer:
    """An optimizer that records each step: after which batch's backward, on which gradients."""

    def __init__(self, optimizer, model, log: EpochLog):
        self.optimizer, self.model, self.log = optimizer, model, log

    def step(self):
        batch = self.log.current
        self.log.stepped.append(
            next((i for i, known in enumerate(self.log.batches) if known is batch), None)
        )
        if batch is not None:
            batch.steps += 1
            batch.step = self.log.tick()
            grads = [param.grad for param in self.model.parameters()]
            kept = self.log.backward_grads
            if kept is None or not all(
                np.array_equal(g, k) for g, k in zip(grads, kept, strict=True)
            ):
                batch.problems.append("step")
        return self.optimizer.step()

    @property
    def zero_grad(self):
        """The optimizer's zero_grad, counting how often it is looked up and called."""
        self.log.zero_grad_named += 1

        def zero_grad(*args, **kwargs):
            self.log.zero_grad_called += 1
            return self.optimizer.zero_grad(*args, **kwargs)

        return zero_grad

    def __getattr__(self, name):
        return getattr(self.optimizer, name)


class SpyLoader:
    """A loader that always yields the same batches; the rest is the loader's."""

    def __init__(self, loader, batches: list):
        self.loader, self.batches = loader, batches
        self.passes = 0  # how many times the loop started going over the loader

    def __iter__(self):
        self.passes += 1
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)

    @property
    def dataset(self) -> SpyDataset:
        """The loader's data set, which tells when a loop goes over it instead of the batches."""
        return SpyDataset(self.loader.dataset)

    def __getattr__(self, name):
        return getattr(self.loader, name)


class SpyDataset:
    """A loader's data set whose length and samples are the data set's, but which refuses to
    be looped over: a training loop goes over the loader's batches."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index):
        return self.dataset[index]

    def __iter__(self):
        raise AssertionError(
            "train_one_epoch looped over loader.dataset, one sample at a time.\nHint: loop over "
            "the loader itself, for inputs, targets in loader: it gives the batches"
        )

    def __getattr__(self, name):
        return getattr(self.dataset, name)


def _same_array(a, b) -> bool:
    return np.shape(a) == np.shape(b) and bool(np.array_equal(a, b))


def _training_case(seed: int, drop_last: bool):
    """A small classifier, its loss, an SGD optimizer and 23 samples in batches of 5.

    The model's gradients start non-zero, as left over from earlier work: the loop must
    reset them before its first backward pass too.
    """
    rng = np.random.default_rng(seed)
    inputs, labels = rng.standard_normal((23, 5)), rng.integers(0, 3, size=23)
    model = Sequential(Linear(5, 4, rng=seed), Tanh(), Linear(4, 3, rng=seed + 1))
    for param in model.parameters():
        param.grad[...] = rng.standard_normal(param.shape)
    loader = DataLoader(ArrayDataset(inputs, labels), batch_size=5, drop_last=drop_last)
    return model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.5), loader


def check_train_one_epoch(train_one_epoch_fn: Callable, *, seed: int = 0) -> str:
    """Run ``train_one_epoch_fn(model, loss_fn, optimizer, loader)`` on a small classifier,
    with a short last batch, then with ``drop_last=True`` (which trains 20 of 23 samples).

    The model, loss, optimizer and loader record what the loop does with them; for each
    batch, the documented protocol must hold: ``zero_grad`` before the backward pass
    (the gradients are zero when it starts), forward on that batch, the loss of that
    output, ``model.backward(loss_fn.backward())``, then one ``step`` on those gradients.
    The returned value must be the mean loss per sample over the epoch.
    """
    for drop_last in (False, True):
        batches = _check_epoch(train_one_epoch_fn, seed, drop_last)
    return (
        f"train_one_epoch ({batches} batches of 5 samples, with and without a last, smaller "
        "one): each batch trained once, in order (zero_grad, forward, loss, backward, step), "
        "and the loss: OK"
    )


def _check_epoch(train_one_epoch_fn: Callable, seed: int, drop_last: bool) -> int:
    """One epoch of ``check_train_one_epoch``; the number of batches."""
    model, loss_fn, optimizer, loader = _training_case(seed, drop_last)
    batches = list(loader)
    log = EpochLog(batches)
    spy_loader = SpyLoader(loader, batches)
    try:
        returned = train_one_epoch_fn(
            SpyModel(model, log),
            SpyLoss(loss_fn, log),
            SpyOptimizer(optimizer, model, log),
            spy_loader,
        )
    except Exception as error:
        if isinstance(error, TypeError) and log.loss_backward_args and "backward()" in str(error):
            raise AssertionError(
                f"{type(error).__name__}: {error}\nHint: loss_fn.backward() takes no argument "
                f"(it was given {len(log.loss_backward_args)}): the loss keeps what its forward "
                "pass saw, so call loss_fn.backward() and pass what it returns to the model, "
                "model.backward(loss_fn.backward())"
            ) from error
        if log.targets_as_inputs:
            raise AssertionError(
                f"{type(error).__name__}: {error}\nHint: {TARGETS_AS_INPUTS}"
            ) from error
        if not isinstance(error, ValueError):
            raise
        if log.backward_shapes and log.backward_shapes[-1] == ():
            raise AssertionError(
                "model.backward() was given a number (shape ()), not an array of the "
                "model's output shape.\nHint: model.backward takes dL/d(output), the gradient "
                "that loss_fn.backward() returns, not the loss value: "
                "model.backward(loss_fn.backward())"
            ) from error
        raise
    if log.targets_as_inputs:
        raise AssertionError(f"the model was given a batch's targets.\nHint: {TARGETS_AS_INPUTS}")
    forwards = [batch.forwards for batch in log.batches]
    stepped_hint = _stepped_batches_hint(log.stepped, forwards, spy_loader.passes)
    if stepped_hint:
        raise AssertionError(
            f"the optimizer steps of one epoch followed the batches {log.stepped} of the "
            f"loader's {list(range(len(log.batches)))}: each batch must be trained once, in "
            f"the loader's order.\nHint: {stepped_hint}"
        )
    if _second_pass(log, spy_loader.passes):
        raise AssertionError(
            f"every batch went through the model twice: the loop went over the loader "
            f"{spy_loader.passes} times in one epoch, the second time after the last step."
            "\nHint: the epoch trains in one pass over the loader: add up each batch's loss in "
            "the training loop itself (total += loss * len(targets)); a second pass to "
            "compute the loss runs every batch through the model again, after training"
        )
    for index, batch in enumerate(log.batches):
        uncalled = log.zero_grad_named > 0 and log.zero_grad_called == 0
        problem = _protocol_problem(batch, uncalled)
        if problem is not None:
            raise AssertionError(
                f"batch {index} of {len(log.batches)} (inputs of shape {batch.inputs.shape}) "
                "was not trained as documented (zero_grad, forward, loss, backward, step).\n"
                f"Hint: {problem}"
            )
    losses = np.array([batch.loss for batch in log.batches])
    sizes = np.array([len(batch.targets) for batch in log.batches])
    expected = float(np.sum(losses * sizes) / np.sum(sizes))
    if returned is None or not np.isclose(float(returned), expected, rtol=1e-9, atol=0):
        hint = _loss_hint(returned, losses, sizes, len(loader.dataset))
        raise AssertionError(
            f"train_one_epoch returned {returned!r}, but the mean loss per sample over the "
            f"epoch (drop_last={drop_last}) is {expected:.6g}.\nHint: {hint}"
        )
    return len(log.batches)


def _second_pass(log: EpochLog, passes: int) -> bool:
    """Whether the loop went over the loader again after training it once, in order: every
    batch stepped once, in order, and through the model once more after the last step."""
    steps = [batch.step for batch in log.batches]
    if passes < 2 or log.stepped != list(range(len(log.batches))) or None in steps:
        return False
    return all(
        batch.forwards == 2 and batch.forward > max(steps) and batch.steps == 1
        for batch in log.batches
    )


def _stepped_batches_hint(stepped: list[int | None], forwards: list[int], passes: int) -> str:
    """What is wrong with the batches the optimizer steps followed (their indices in the
    loader's order, one per step), given how many times each batch went through the model:
    batches never trained (never through the model), batches trained at several steps (a
    forward pass each), or the loader's batches in another order; '' when each step
    followed a batch of the loader and every batch was stepped once, in order, or when
    the steps are wrong otherwise (a step per epoch, two steps per batch: other hints)."""
    count = len(forwards)
    expected = list(range(count))
    if not stepped or None in stepped or stepped == expected:
        return ""
    loop = "train on every batch of the loader, once: for inputs, targets in loader"
    started = (
        f" (the loop started going over the loader {passes} times in one epoch)"
        if passes > 1
        else ""
    )
    seen = {index for index in expected if forwards[index]}
    if len(set(stepped)) == 1 and len(stepped) > 1 and seen == set(stepped):
        (batch,) = set(stepped)
        if batch == 0 and passes == len(stepped):
            return (
                f"every step trained batch 0, the loader's first: each of the {passes} steps "
                "started a new pass over the loader (next(iter(loader)), or a fresh for loop, "
                f"starts again at the first batch) and took its first batch. {loop.capitalize()}"
                ", or keep one iterator, batches = iter(loader), and call next(batches)"
            )
        return f"every step trained the same batch, batch {batch}{started}: {loop}"
    if stepped == expected[1:] and 0 not in seen:
        return (
            f"the first batch (batch 0) was never trained: the steps followed batches 1 to "
            f"{count - 1}{started}. A next(...) taken before the loop, or a range that starts "
            f"at 1, leaves it out: {loop}"
        )
    if stepped == expected[:-1] and count - 1 not in seen:
        return (
            f"the last batch (batch {count - 1}) was never trained{started}: a range that "
            f"stops at len(loader) - 1 (or a loop that stops one early) leaves it out: {loop}"
        )
    if sorted(stepped) == expected:
        return f"every batch was trained once, but in another order than the loader's: {loop}"
    twice = sorted({b for b in stepped if stepped.count(b) > 1 and forwards[b] >= stepped.count(b)})
    missing = sorted(set(expected) - seen)
    parts = []
    if twice:
        parts.append(f"batch {', '.join(map(str, twice))} trained at more than one step")
    if missing:
        parts.append(f"batch {', '.join(map(str, missing))} never trained")
    if not parts:
        return ""
    return f"{' and '.join(parts)}{started}: one step per batch of the loader, {loop}"


def _protocol_problem(batch: BatchRecord, zero_grad_uncalled: bool = False) -> str | None:
    """What the loop did wrong with ``batch``, or None; ``zero_grad_uncalled``: the loop
    looked optimizer.zero_grad up but never called it."""
    if batch.forwards == 0:
        return "this batch never went through the model: train on every batch of the loader"
    if batch.forwards > 1:
        return "this batch went through the model more than once: one forward pass per batch"
    if batch.loss is None:
        return (
            "compute the loss of the model's output on this batch: loss_fn(model(inputs), targets)"
        )
    if batch.backward is not None and batch.step is None:
        return (
            "the parameters never change: optimizer.step() never ran for this batch; call it "
            "once per batch, inside the loop over the batches, after backward()"
        )
    if batch.backward is None or batch.step is None or "step" in batch.problems:
        return NEVER_CHANGE
    if "gradients" in batch.problems and zero_grad_uncalled:
        return (
            "optimizer.zero_grad is written without parentheses: that only names the method, "
            "and the gradients are never reset; call it, optimizer.zero_grad(), before each "
            "backward pass"
        )
    if "gradients" in batch.problems:
        return (
            "the gradients were not zero when the backward pass started (they add up, from "
            "earlier batches or from before the epoch): call optimizer.zero_grad() before "
            "each backward pass"
        )
    if "grad" in batch.problems:
        return "pass the loss's gradient to the model: model.backward(loss_fn.backward())"
    if batch.steps > 1:
        return "optimizer.step() ran more than once for this batch: one step per batch"
    if not batch.forward < batch.backward < batch.step:
        return NEVER_CHANGE
    return None


def _loss_hint(returned, losses: np.ndarray, sizes: np.ndarray, dataset_size: int) -> str:
    if returned is None:
        return "return the mean loss of the epoch"
    candidates = {
        "the mean of the batch losses gives the last, smaller batch too much weight: weight "
        "each batch's loss by its number of samples": np.mean(losses),
        "this is the loss of the last batch only: return the mean over the whole epoch": losses[-1],
        "this is the sum of the batch losses: return the mean loss per sample": np.sum(losses),
        "this divides by the size of the data set, but with drop_last=True the loader skips "
        "its last samples: divide by the number of samples the epoch trained on": np.sum(
            losses * sizes
        )
        / dataset_size,
    }
    total, samples = float(np.sum(losses * sizes)), float(np.sum(sizes))
    candidates.update(
        {
            "this is the total loss of the epoch: divide it by the number of samples": total,
            "only the last batch's loss × size is in the total: add each batch's to it "
            "(total += loss * batch size), don't assign it": losses[-1] * sizes[-1] / samples,
            "this is the mean rounded down to a whole number: // is floor division (int() "
            "rounds too): divide with /": np.floor(total / samples),
            f"this is the mean divided by the batch size ({sizes[0]}) once more: divide the "
            "total only by the number of samples": total / samples / sizes[0],
            f"this is the mean times the batch size ({sizes[0]}): add up loss × batch size, "
            "then divide by the number of samples": total / samples * sizes[0],
            "this divides by the number of batches (len(loader)): divide the total of loss × "
            "batch size by the number of samples": total / len(losses),
            _one_batch_size_hint(sizes): total / sizes[-1],
        }
    )
    for hint, value in candidates.items():
        if np.isclose(float(returned), value, rtol=1e-9, atol=0):
            return hint
    return _divided_by_a_count_hint(float(returned), losses, sizes) or (
        "add up loss × batch size over the batches, then divide by the number of samples"
    )


def _divided_by_a_count_hint(returned: float, losses: np.ndarray, sizes: np.ndarray):
    """The hint when ``returned`` is the epoch's total loss, or the sum of its batch losses,
    divided by a whole number: which number, and what it should be; or None."""
    samples = int(np.sum(sizes))
    totals = [  # (what, its value, the fix, whether dividing it by the samples is right)
        (
            "the total loss of the epoch (Σ loss × batch size)",
            float(np.sum(losses * sizes)),
            f"divide by the number of samples the epoch trained on, {samples}: add up "
            "len(targets) of each batch",
            True,
        ),
        (
            "the sum of the batch losses (each a mean over its batch)",
            float(np.sum(losses)),
            f"multiply each batch's loss by its size before adding, then divide by the number "
            f"of samples, {samples}",
            False,
        ),
    ]
    for what, total, fix, by_samples_is_right in totals:
        count = total / returned if returned else 0.0
        if count < 0.5 or abs(count - round(count)) > 1e-6 * count:
            continue
        count = int(round(count))
        if by_samples_is_right and count == samples:
            continue  # that is the right mean
        counted = (
            f" = len(loader) × batch_size, though the last batch holds {sizes[-1]}"
            if count == len(sizes) * sizes[0] and sizes[-1] != sizes[0]
            else ""
        )
        return f"this is {what} divided by {count}{counted}: {fix}"
    return None


def _one_batch_size_hint(sizes: np.ndarray) -> str:
    """The hint for a total divided by the size of the last batch (of every batch, when
    they have one size)."""
    which = "the last batch" if sizes[-1] != sizes[0] else "one batch"
    return (
        f"this is the total loss divided by the size of {which} ({sizes[-1]}), not by the "
        "number of samples of the epoch: count every batch's samples, total_samples += "
        "len(targets) (not =)"
    )
