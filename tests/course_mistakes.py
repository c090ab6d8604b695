"""Seeded submissions for the end-to-end course test: common mistakes and tampering.

A ``Mistake`` is a small patch of one answer (the reference source of a pancake object,
as the solution notebook holds it): the grade cells it must lose, and the words of the
hint that the feedback must show. A ``Tamper`` edits a released notebook, as submitted
untouched (which scores zero), in a way that would earn points if grading could be fooled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import nbformat


@dataclass(frozen=True)
class Mistake:
    """``patches`` (old, new) applied in turn to the answer of ``target``, each old text once."""

    assignment: str
    target: str
    description: str
    patches: tuple[tuple[str, str], ...]
    loses: tuple[str, ...]
    hint: str

    def apply(self, source: str) -> str:
        for old, new in self.patches:
            if source.count(old) != 1:
                raise ValueError(f"{self.description}: {old!r} is not once in {self.target}")
            source = source.replace(old, new)
        return source


NUMERICAL_GRADIENT = "pancake.testing.gradcheck.numerical_gradient"
CHAIN_RULE = "pancake.calculus.chain_rule_gradients"
SQUARE, MUL = "pancake.nn.basic.Square", "pancake.nn.basic.Mul"
LINEAR = "pancake.nn.linear.Linear"
SIGMOID, RELU, TANH = (f"pancake.nn.activations.{name}" for name in ("Sigmoid", "ReLU", "Tanh"))
CROSS_ENTROPY = "pancake.nn.losses.CrossEntropyLoss"
SEQUENTIAL = "pancake.nn.containers.Sequential"
SGD, ADAM = "pancake.optim.SGD", "pancake.optim.Adam"
DATA_LOADER = "pancake.data.DataLoader"
TRAIN_ONE_EPOCH = "pancake.train.train_one_epoch"
TRAIN_DIGITS = "pancake.debugging.train_digits"
UNBROADCAST = "pancake.autograd.functions.unbroadcast"
AG_MUL, MATMUL, AG_SUM, EXP = (
    f"pancake.autograd.functions.{name}" for name in ("Mul", "Matmul", "Sum", "Exp")
)
DENSE, SERIAL = "pancake.stax.Dense", "pancake.stax.serial"
CONV2D, MAX_POOL2D = "pancake.nn.conv.Conv2d", "pancake.nn.conv.MaxPool2d"
STANDARDIZE_BACKWARD = "pancake.nn.normalization.standardize_backward"
BATCH_NORM = "pancake.nn.normalization.BatchNorm"
WALK_TAPE, GRADIENT_TAPE = "pancake.autograd.tape.walk_tape", "pancake.autograd.tape.GradientTape"
AG_TANH = "pancake.autograd.functions.Tanh"
AG_SIN, SOFTPLUS = "pancake.autograd.functions.Sin", "pancake.autograd.functions.Softplus"

MISTAKES = [
    Mistake(
        "01-chain-rule",
        NUMERICAL_GRADIENT,
        "one-sided (forward) difference",
        (
            ("x[index] = original - eps\n", "x[index] = original\n"),
            ("(f_plus - f_minus) / (2 * eps)", "(f_plus - f_minus) / eps"),
        ),
        ("numerical-gradient-vectors", "numerical-gradient-any-shape"),
        "one-sided (forward) difference",
    ),
    Mistake(
        "01-chain-rule",
        NUMERICAL_GRADIENT,
        "divides by eps instead of 2·eps",
        (("(f_plus - f_minus) / (2 * eps)", "(f_plus - f_minus) / eps"),),
        ("numerical-gradient-vectors", "numerical-gradient-any-shape"),
        "so divide by 2·eps",
    ),
    Mistake(
        "01-chain-rule",
        NUMERICAL_GRADIENT,
        "the perturbed entry is not put back",
        (("        x[index] = original\n        grad[index]", "        grad[index]"),),
        ("numerical-gradient-vectors", "numerical-gradient-any-shape"),
        "and put it back (x[i] = original)",
    ),
    Mistake(
        "01-chain-rule",
        CHAIN_RULE,
        "forgets the 2 of d(M²)/dM",
        (("de_dm = 2 * m", "de_dm = m"),),
        ("chain-rule-gradients-values",),
        "don't forget the 2",
    ),
    Mistake(
        "01-chain-rule",
        CHAIN_RULE,
        "swaps dM/dk and dM/dv",
        (
            ("de_dk = de_dm * v", "de_dk = de_dm * k"),
            ("de_dv = de_dm * k", "de_dv = de_dm * v"),
        ),
        ("chain-rule-gradients-values",),
        "dE_dk and dE_dv are swapped",
    ),
    Mistake(
        "02-modules",
        SQUARE,
        "dy/dx = x instead of 2x",
        (("return grad_output * 2 * x", "return grad_output * x"),),
        ("square-gradients",),
        "a factor of 2 is missing",
    ),
    Mistake(
        "02-modules",
        MUL,
        "dL/dk not summed over the entries",
        (
            (
                "self.k.grad += np.sum(grad_output * x)",
                "self.k.grad = self.k.grad + grad_output * x",
            ),
        ),
        ("mul-gradients",),
        "sum over the batch axis",
    ),
    Mistake(
        "02-modules",
        MUL,
        "dL/dk assigned instead of accumulated",
        (("self.k.grad += np.sum(grad_output * x)", "self.k.grad = np.sum(grad_output * x)"),),
        ("mul-gradients",),
        "overwritten instead of accumulated",
    ),
    Mistake(
        "03-linear",
        LINEAR,
        "bias gradient not summed over the batch",
        (
            (
                "self.bias.grad += grad_rows.sum(axis=0)",
                "self.bias.grad = self.bias.grad + grad_rows",
            ),
        ),
        ("linear-gradients", "linear-batch-axes"),
        "sum over the batch axis",
    ),
    Mistake(
        "03-linear",
        LINEAR,
        "weight gradient assigned instead of accumulated",
        (("self.weight.grad += rows.T @ grad_rows", "self.weight.grad = rows.T @ grad_rows"),),
        ("linear-gradients", "linear-batch-axes", "linear-no-bias"),
        "overwritten instead of accumulated",
    ),
    Mistake(
        "03-linear",
        LINEAR,
        "weight gradient averaged over the batch",
        (
            (
                "self.weight.grad += rows.T @ grad_rows",
                "self.weight.grad += rows.T @ grad_rows / len(rows)",
            ),
        ),
        ("linear-gradients", "linear-batch-axes", "linear-no-bias"),
        "a factor equal to the batch size",
    ),
    Mistake(
        "04-activations-losses",
        SIGMOID,
        "derivative y(y - 1): wrong sign",
        (("return grad_output * y * (1 - y)", "return grad_output * y * (y - 1)"),),
        ("sigmoid-gradients",),
        "wrong sign",
    ),
    Mistake(
        "04-activations-losses",
        RELU,
        "backward forgets to return",
        (("return grad_output * (x > 0)", "grad_output = grad_output * (x > 0)"),),
        ("relu-gradients",),
        "backward returned None",
    ),
    Mistake(
        "04-activations-losses",
        TANH,
        "derivative y² - 1: wrong sign",
        (("return grad_output * (1 - y * y)", "return grad_output * (y * y - 1)"),),
        ("tanh-gradients",),
        "wrong sign",
    ),
    Mistake(
        "04-activations-losses",
        CROSS_ENTROPY,
        "gradient not divided by the batch size",
        (
            (
                "return (softmax(logits) - target_probs) / len(logits)",
                "return softmax(logits) - target_probs",
            ),
        ),
        ("cross-entropy-loss-gradients",),
        "factor equal to the batch size",
    ),
    Mistake(
        "04-activations-losses",
        CROSS_ENTROPY,
        "log(softmax(z)) instead of log_softmax(z)",
        (("log_softmax(logits)", "np.log(softmax(logits))"),),
        ("cross-entropy-loss-large-logits",),
        "log-sum-exp",
    ),
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "backward forgets to return",
        (
            (
                "            grad_output = layer.backward(grad_output)\n        return grad_output\n",
                "            grad_output = layer.backward(grad_output)\n",
            ),
        ),
        ("sequential-gradients", "sequential-nested"),
        "backward returned None",
    ),
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "forward does not chain the layers",
        (("            x = layer(x)", "            layer(x)"),),
        ("sequential-forward", "sequential-gradients", "sequential-nested"),
        "it should be each layer in turn",
    ),
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "backward visits the layers first to last",
        (("for layer in reversed(self.layers):", "for layer in self.layers:"),),
        ("sequential-gradients", "sequential-nested"),
        "backward() got grad_output of shape",
    ),
    Mistake(
        "06-optimizers",
        SGD,
        "momentum buffer starts at zero",
        (("buffer = grad.copy()", "buffer = (1 - self.dampening) * grad"),),
        ("sgd-momentum",),
        "as if it started at zero",
    ),
    Mistake(
        "06-optimizers",
        SGD,
        "Nesterov ignored",
        (("grad = grad + self.momentum * buffer", "grad = buffer"),),
        ("sgd-nesterov",),
        "Nesterov is missing",
    ),
    Mistake(
        "06-optimizers",
        ADAM,
        "no bias correction of the first moment",
        (
            (
                'exp_avg_hat = state["exp_avg"] / (1 - beta1 ** state["step"])',
                'exp_avg_hat = state["exp_avg"]',
            ),
        ),
        ("adam-default", "adam-betas", "adam-weight-decay", "adam-decoupled"),
        "bias correction of the first moment missing",
    ),
    Mistake(
        "06-optimizers",
        ADAM,
        "eps inside the square root",
        (("np.sqrt(exp_avg_sq_hat) + self.eps", "np.sqrt(exp_avg_sq_hat + self.eps)"),),
        ("adam-default", "adam-betas", "adam-weight-decay", "adam-decoupled"),
        "eps is added inside the square root",
    ),
    Mistake(
        "06-optimizers",
        ADAM,
        "decoupled weight decay without the learning rate",
        (("param.data *= 1 - self.lr * self.weight_decay", "param.data *= 1 - self.weight_decay"),),
        ("adam-decoupled",),
        "decoupled weight decay must be scaled by the learning rate",
    ),
    Mistake(
        "07-data",
        DATA_LOADER,
        "drop_last ignored",
        (
            (
                "            if self.drop_last and len(indices) < self.batch_size:\n                break\n",
                "",
            ),
        ),
        ("data-loader-epochs",),
        "with drop_last=True the last, smaller batch must be skipped",
    ),
    Mistake(
        "07-data",
        DATA_LOADER,
        "shuffles with NumPy's global random state",
        (("self.rng.permutation(n)", "np.random.permutation(n)"),),
        ("data-loader-epochs",),
        "never from np.random's global state",
    ),
    Mistake(
        "07-data",
        DATA_LOADER,
        "the last, smaller batch is always dropped",
        (("range(0, n, self.batch_size)", "range(0, n - self.batch_size + 1, self.batch_size)"),),
        ("data-loader-epochs",),
        "the last, smaller batch is missing",
    ),
    Mistake(
        "07-data",
        DATA_LOADER,
        "each batch shuffled in place after slicing the unshuffled order",
        (
            (
                "order = self.rng.permutation(n) if self.shuffle else np.arange(n)",
                "order = np.arange(n)",
            ),
            (
                "                break\n",
                "                break\n            if self.shuffle:\n                self.rng.shuffle(indices)\n",
            ),
        ),
        ("data-loader-epochs",),
        "reorders the samples inside each batch, not the data set",
    ),
    Mistake(
        "07-data",
        DATA_LOADER,
        "each batch sliced to the end of the order, order[start:]",
        (("order[start : start + self.batch_size]", "order[start:]"),),
        ("data-loader-epochs",),
        "each batch runs to the last sample",
    ),
    Mistake(
        "02-modules",
        MUL,
        "dL/dk times k, from the forward's k·x (x saved as it should be)",
        (
            (
                "self.k.grad += np.sum(grad_output * x)",
                "self.k.grad += np.sum(grad_output * x) * self.k.data",
            ),
        ),
        ("mul-gradients",),
        "off by a factor equal to 'k'",
    ),
    Mistake(
        "11-stax",
        DENSE,
        "W's in_dim taken as input_shape[1:], a tuple (all but the batch), not a number",
        (
            (
                "W = W_init((input_shape[-1], out_dim), rng=rng)",
                "W = W_init((input_shape[1:], out_dim), rng=rng)",
            ),
        ),
        ("dense-layer", "dense-leading-axes"),
        "is not a number (input_shape[-1] is the number of input features",
    ),
    Mistake(
        "11-stax",
        DENSE,
        "b's draw halved",
        (("b = b_init((out_dim,), rng=rng)", "b = b_init((out_dim,), rng=rng) / 2"),),
        ("dense-layer", "dense-leading-axes"),
        "b is its initializer's draw times 0.5",
    ),
    Mistake(
        "02-modules",
        SQUARE,
        "forward saves the input of its first call only (kept in self.first)",
        (
            (
                "        self.save_for_backward(x)\n        return x * x",
                '        if getattr(self, "first", None) is None:\n            self.first = x\n'
                "        self.save_for_backward(self.first)\n        return x * x",
            ),
        ),
        ("square-gradients",),
        "backward uses the input of the first forward call, not the input of the latest",
    ),
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "backward stops at the first module that needs no input gradient",
        (
            (
                "            grad_output = layer.backward(grad_output)\n        return grad_output\n",
                "            if not layer.needs_input_grad:\n                break\n"
                "            grad_output = layer.backward(grad_output)\n        return grad_output\n",
            ),
        ),
        ("sequential-gradients",),
        "backward skips module 0's backward",
    ),
    Mistake(
        "12-convolutions",
        MAX_POOL2D,
        "grad_output moved channels last with swapaxes(1, 3): (N, W', H', C)",
        (
            (
                "is_winner * grad_output.transpose(0, 2, 3, 1)",
                "is_winner * grad_output.swapaxes(1, 3)",
            ),
        ),
        ("max-pool2d-gradients", "max-pool2d-ties"),
        "lines up with the other after .transpose(0, 2, 1, 3)",
    ),
    Mistake(
        "12-convolutions",
        CONV2D,
        "x copied one row too low into the padded buffer",
        (
            (
                "padded[:, ph : ph + height, pw : pw + width]",
                "padded[:, ph + 1 : ph + 1 + height, pw : pw + width]",
            ),
        ),
        ("conv2d-first-layer", "conv2d-forward", "conv2d-gradients"),
        "x is copied into the padded buffer at rows 2 to 9 and columns 2 to 10",
    ),
    Mistake(
        "12-convolutions",
        CONV2D,
        "the output size from the padded shape without its + 1",
        (
            (
                "        out_h, out_w = windows.shape[1:3]\n",
                "        out_h = (padded.shape[1] - self.kernel_size[0]) // self.stride[0]\n"
                "        out_w = (padded.shape[2] - self.kernel_size[1]) // self.stride[1]\n",
            ),
        ),
        ("conv2d-first-layer", "conv2d-forward", "conv2d-gradients"),
        "forward reshapes to 3 x 3 output positions, but unfold gives 4 x 4 windows",
    ),
    Mistake(
        "12-convolutions",
        CONV2D,
        "the windows unfolded with the stride pair swapped",
        (
            (
                "unfold(padded, self.kernel_size, self.stride)",
                "unfold(padded, self.kernel_size, self.stride[::-1])",
            ),
        ),
        ("conv2d-first-layer", "conv2d-forward", "conv2d-gradients"),
        "forward gives unfold the stride (3, 2), the pair swapped",
    ),
    Mistake(
        "12-convolutions",
        CONV2D,
        "the input gradient folded with the kernel size as the stride",
        (
            (
                "offset_pixels((p, q), (out_h, out_w), self.stride)",
                "offset_pixels((p, q), (out_h, out_w), self.kernel_size)",
            ),
        ),
        ("conv2d-first-layer", "conv2d-gradients"),
        "backward gives offset_pixels the stride (3, 4) where self.stride = (2, 3) belongs",
    ),
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "gradients never zeroed",
        (("        optimizer.zero_grad()\n", ""),),
        ("train-one-epoch-one-epoch", "train-one-epoch-digits"),
        "call optimizer.zero_grad() before each backward pass",
    ),
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "the mean of the batch losses",
        (
            ("total_loss += loss * len(targets)", "total_loss += loss"),
            ("total_samples += len(targets)", "total_samples += 1"),
        ),
        ("train-one-epoch-one-epoch",),
        "weight each batch's loss by its number of samples",
    ),
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "no backward pass",
        (("        model.backward(loss_fn.backward())\n", ""),),
        ("train-one-epoch-one-epoch", "train-one-epoch-digits"),
        "the parameters never change",
    ),
    # 09-debugging: each submission fixes three of the four bugs and leaves one in.
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "a softmax before CrossEntropyLoss",
        (("Linear(64, 10, rng=rng))\n", "Linear(64, 10, rng=rng), Softmax())\n"),),
        ("train-digits-outputs-are-logits",),
        "every row of the model's outputs sums to 1",
    ),
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "images shuffled without their labels",
        (("X_train, y_train = X_train[order], y_train[order]", "X_train = X_train[order]"),),
        ("train-digits-labels-follow-images", "train-digits-accuracy"),
        "were trained with another image's label",
    ),
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "gradients never zeroed",
        (("            optimizer.zero_grad()\n", ""),),
        ("train-digits-fresh-gradients", "train-digits-accuracy"),
        "gradients add up (+=) from batch to batch",
    ),
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "validation results measured on the training data",
        (("(X_val, y_val))", "(X_train, y_train))"),),
        ("train-digits-validation-data",),
        "which data does it evaluate?",
    ),
    # 10-autograd: Mul and Matmul call the learner's unbroadcast, so a wrong unbroadcast
    # also costs the tests that broadcast their operands.
    Mistake(
        "10-autograd",
        UNBROADCAST,
        "the prepended axes are not summed",
        (("    grad = grad.sum(axis=added_axes)\n", ""),),
        (
            "unbroadcast-leading-axes",
            "unbroadcast-any-shapes",
            "mul-broadcasting",
            "matmul-batch-axes",
        ),
        "leading axes to",
    ),
    Mistake(
        "10-autograd",
        UNBROADCAST,
        "the stretched axes are dropped (no keepdims)",
        (
            (
                "return grad.sum(axis=stretched_axes, keepdims=True)",
                "return grad.sum(axis=stretched_axes)",
            ),
        ),
        (
            "unbroadcast-stretched-axes",
            "unbroadcast-any-shapes",
            "mul-broadcasting",
            "matmul-batch-axes",
        ),
        "keep the stretched axes",
    ),
    Mistake(
        "10-autograd",
        AG_MUL,
        "Mul forgets to unbroadcast",
        (
            (
                "return unbroadcast(grad * b, a.shape), unbroadcast(grad * a, b.shape)",
                "return grad * b, grad * a",
            ),
        ),
        ("mul-broadcasting",),
        "sum its gradient back to",
    ),
    Mistake(
        "10-autograd",
        AG_MUL,
        "Mul's gradients swapped",
        (
            (
                "return unbroadcast(grad * b, a.shape), unbroadcast(grad * a, b.shape)",
                "return unbroadcast(grad * a, a.shape), unbroadcast(grad * b, b.shape)",
            ),
        ),
        ("mul-same-shape", "mul-broadcasting"),
        "are swapped",
    ),
    Mistake(
        "10-autograd",
        MATMUL,
        "Matmul's b not transposed",
        (("grad_a = grad @ np.swapaxes(b, -1, -2)", "grad_a = grad @ b"),),
        ("matmul-matrices", "matmul-batch-axes"),
        "backward raised ValueError",
    ),
    Mistake(
        "10-autograd",
        AG_SUM,
        "Sum's backward returns grad as it came",
        (
            (
                "        grad = grad.reshape(keepdims_shape(self.input_shape, self.axis))\n"
                "        return np.broadcast_to(grad, self.input_shape)",
                "        return grad",
            ),
        ),
        ("sum-all-axes", "sum-axis"),
        "that is the output's shape",
    ),
    Mistake(
        "10-autograd",
        EXP,
        "Exp's derivative taken at the output",
        (("return grad * y", "return grad * np.exp(y)"),),
        ("exp-gradients",),
        "evaluated at the output y = f(x) instead of the input x",
    ),
    Mistake(
        "11-stax",
        DENSE,
        "W of shape (out_dim, in_dim)",
        (
            (
                "W_init((input_shape[-1], out_dim), rng=rng)",
                "W_init((out_dim, input_shape[-1]), rng=rng)",
            ),
            ("return inputs @ W + b", "return inputs @ W.T + b"),
        ),
        ("dense-layer", "dense-leading-axes"),
        "is transposed",
    ),
    Mistake(
        "11-stax",
        DENSE,
        "the output shape loses the leading axes",
        (("output_shape = tuple(input_shape[:-1]) + (out_dim,)", "output_shape = (out_dim,)"),),
        ("dense-layer", "dense-leading-axes"),
        "work out the output shape from input_shape",
    ),
    Mistake(
        "11-stax",
        DENSE,
        "b drawn without rng",
        (("b = b_init((out_dim,), rng=rng)", "b = b_init((out_dim,))"),),
        ("dense-layer", "dense-leading-axes"),
        "draw every random number from rng",
    ),
    Mistake(
        "11-stax",
        SERIAL,
        "every layer's init_fun gets the first input shape",
        (
            (
                "input_shape, layer_params = layer_init(rng, input_shape)",
                "output_shape, layer_params = layer_init(rng, input_shape)",
            ),
            ("return input_shape, params", "return output_shape, params"),
        ),
        ("serial-chain", "serial-nested"),
        "the output shape of the layer before it",
    ),
    Mistake(
        "11-stax",
        SERIAL,
        "the layers applied last to first",
        (
            (
                "zip(apply_funs, params, strict=True)",
                "zip(reversed(apply_funs), reversed(params), strict=True)",
            ),
        ),
        ("serial-chain", "serial-nested"),
        "applied in turn, first to last",
    ),
    Mistake(
        "11-stax",
        SERIAL,
        "apply_fun gives every layer the inputs",
        (
            (
                "inputs = layer_apply(layer_params, inputs)",
                "outputs = layer_apply(layer_params, inputs)",
            ),
            ("        return inputs\n", "        return outputs\n"),
        ),
        ("serial-chain", "serial-nested"),
        "applied in turn, first to last",
    ),
    Mistake(
        "12-convolutions",
        CONV2D,
        "the kernel is flipped (a true convolution, not PyTorch's cross-correlation)",
        (
            (
                "kernels = self.weight.data.transpose(0, 2, 3, 1)",
                "kernels = self.weight.data[:, :, ::-1, ::-1].transpose(0, 2, 3, 1)",
            ),
        ),
        ("conv2d-forward", "conv2d-gradients", "conv2d-first-layer"),
        "Conv2d(x) is wrong: it should be the convolution's definition",
    ),
    Mistake(
        "12-convolutions",
        CONV2D,
        "padding on one side only",
        (("height + 2 * ph, width + 2 * pw,", "height + ph, width + pw,"),),
        # first-layer too: an image that only fits the kernel with both paddings has no window
        ("conv2d-forward", "conv2d-gradients", "conv2d-first-layer"),
        "expected",
    ),
    Mistake(
        "12-convolutions",
        CONV2D,
        "the weight gradient averages over positions instead of summing",
        (("(grad_rows.T @ columns).reshape", "(grad_rows.T @ columns / (out_h * out_w)).reshape"),),
        ("conv2d-gradients", "conv2d-first-layer"),
        "'weight'",
    ),
    Mistake(
        "12-convolutions",
        MAX_POOL2D,
        "the winners' entries read column by column (q * kh + p) instead of row by row",
        (
            ("reshape(kh, kw, *", "reshape(kw, kh, *"),
            ("transpose(2, 3, 4, 0, 1, 5)", "transpose(2, 3, 4, 1, 0, 5)"),
        ),
        ("max-pool2d-gradients", "max-pool2d-ties"),
        "each window's gradient added at its first maximum",
    ),
    Mistake(
        "13-normalization",
        STANDARDIZE_BACKWARD,
        "the gradient forgets the mean's dependence on x",
        (("(grad_x_hat - mean_grad - x_hat", "(grad_x_hat - x_hat"),),
        (
            "standardize-backward-gradients",
            "standardize-backward-sums-to-zero",
            "batch-norm-training-gradients",
        ),
        "the sum of dL/dx over the batch is wrong",
    ),
    Mistake(
        "13-normalization",
        STANDARDIZE_BACKWARD,
        "the gradient forgets the variance's dependence on x",
        (("mean_grad - x_hat * mean_grad_along_x_hat", "mean_grad"),),
        ("standardize-backward-gradients", "batch-norm-training-gradients"),
        "the gradient of 'input' is wrong",
    ),
    Mistake(
        "13-normalization",
        BATCH_NORM,
        "the running variance is the biased one",
        (("unbiased_var = var * count / (count - 1)", "unbiased_var = var"),),
        ("batch-norm-running-statistics",),
        "running_var is wrong",
    ),
    Mistake(
        "13-normalization",
        BATCH_NORM,
        "training mode normalises with the running statistics",
        (
            (
                "        else:\n            mean, var = self.running_mean, self.running_var\n",
                "        mean, var = self.running_mean, self.running_var\n",
            ),
        ),
        ("batch-norm-training-forward", "batch-norm-training-gradients"),
        "BatchNorm(x) in training mode is wrong",
    ),
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "the tape walked forwards",
        (("reversed(operations)", "operations"),),
        (
            "walk-tape-matches-grad",
            "walk-tape-skips-what-the-target-does-not-need",
            "walk-tape-with-a-tensor-seed-records-the-gradient",
            "gradient-tape-records-watched-operations",
            "gradient-tape-watches-leaves-that-require-a-gradient",
            "gradient-tape-nested-second-derivative",
        ),
        "from the last operation to the first",
    ),
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "a tensor used several times keeps only its last gradient",
        (("add_gradient(grads, tensor, tensor_grad)", "grads[tensor] = tensor_grad"),),
        (
            "walk-tape-matches-grad",
            "walk-tape-with-a-tensor-seed-records-the-gradient",
            "gradient-tape-watches-leaves-that-require-a-gradient",
        ),
        "keeps one share of a tensor used several times",
    ),
    Mistake(
        "14-tapes",
        GRADIENT_TAPE,
        "every operation recorded, watched or not",
        (("if any(self.is_watched(tensor) for tensor in function.inputs):", "if True:"),),
        ("gradient-tape-records-watched-operations",),
        "record an operation only when one of its inputs is watched",
    ),
    Mistake(
        "14-tapes",
        AG_SIN,
        "np.cos in backward, which refuses Tensors",
        (("return grad * cos(x)", "return grad * np.cos(x)"),),
        ("sin-second-derivatives",),
        "use pancake's functions",
    ),
    Mistake(
        "14-tapes",
        SOFTPLUS,
        "the slope computed from x.data, detached from the graph",
        (("return grad * sigmoid(x)", "return grad * sigmoid(x.data)"),),
        ("softplus-second-derivatives",),
        "with Tensor operations",
    ),
]

# -- the mistakes learners really make, named by hints diagnosed on generic inputs --------
NEW_MISTAKES = [
    Mistake(
        "01-chain-rule",
        NUMERICAL_GRADIENT,
        "a step of its own instead of eps",
        (
            ("x[index] = original + eps", "x[index] = original + 1e-4"),
            ("x[index] = original - eps", "x[index] = original - 1e-4"),
            ("(f_plus - f_minus) / (2 * eps)", "(f_plus - f_minus) / (2 * 1e-4)"),
        ),
        ("numerical-gradient-vectors", "numerical-gradient-any-shape"),
        "not by a step of your own",
    ),
    Mistake(
        "01-chain-rule",
        CHAIN_RULE,
        "the inner derivatives dM/dk, dM/dv forgotten",
        (("de_dk = de_dm * v", "de_dk = de_dm"), ("de_dv = de_dm * k", "de_dv = de_dm")),
        ("chain-rule-gradients-values",),
        "the inner derivative is missing",
    ),
    Mistake(
        "01-chain-rule",
        CHAIN_RULE,
        "d(M²)/dM taken as 2",
        (("de_dm = 2 * m", "de_dm = 2"),),
        ("chain-rule-gradients-values",),
        "dE/dM is 2·M, not 2",
    ),
    Mistake(
        "02-modules",
        SQUARE,
        "dy/dx = 2 without x",
        (("return grad_output * 2 * x", "return grad_output * 2"),),
        ("square-gradients",),
        "depends on x",
    ),
    Mistake(
        "02-modules",
        SQUARE,
        "the local derivative returned without grad_output",
        (("return grad_output * 2 * x", "return 2 * x"),),
        ("square-gradients",),
        "the chain rule",
    ),
    Mistake(
        "02-modules",
        MUL,
        "dL/dk = sum(g), the x forgotten",
        (("self.k.grad += np.sum(grad_output * x)", "self.k.grad += np.sum(grad_output)"),),
        ("mul-gradients",),
        "the sum of grad_output alone",
    ),
    Mistake(
        "03-linear",
        LINEAR,
        "dL/dx = G W, W not transposed",
        (("return grad_output @ self.weight.data.T", "return grad_output @ self.weight.data"),),
        ("linear-gradients", "linear-batch-axes", "linear-no-bias"),
        "needs a transpose",
    ),
    Mistake(
        "03-linear",
        LINEAR,
        "the bias forgotten in forward",
        (("output = output + self.bias.data", "output = output"),),
        ("linear-forward", "linear-gradients", "linear-batch-axes"),
        "x @ weight + bias",
    ),
    Mistake(
        "04-activations-losses",
        TANH,
        "1 - x² with the input saved in place of the output",
        (("self.save_for_backward(y)", "self.save_for_backward(x)"),),
        ("tanh-gradients",),
        "was given the input x",
    ),
    Mistake(
        "04-activations-losses",
        SIGMOID,
        "the sigmoid's derivative applied twice",
        (("return grad_output * y * (1 - y)", "return grad_output * (y * (1 - y)) ** 2"),),
        ("sigmoid-gradients",),
        "applied twice",
    ),
    Mistake(
        "04-activations-losses",
        CROSS_ENTROPY,
        "the target forgotten in the gradient",
        (
            (
                "return (softmax(logits) - target_probs) / len(logits)",
                "return softmax(logits) / len(logits)",
            ),
        ),
        ("cross-entropy-loss-gradients",),
        "forget to subtract the target",
    ),
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "backward skips the last layer",
        (("for layer in reversed(self.layers):", "for layer in reversed(self.layers[:-1]):"),),
        ("sequential-gradients", "sequential-nested"),
        "backward skips module",
    ),
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "each layer's gradient dropped",
        (
            (
                "grad_output = layer.backward(grad_output)",
                "layer.backward(grad_output)",
            ),
        ),
        ("sequential-gradients", "sequential-nested"),
        "is dropped",
    ),
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "the list of layers reversed in place",
        (
            (
                "for layer in reversed(self.layers):",
                "self.layers.reverse()\n        for layer in self.layers:",
            ),
        ),
        ("sequential-gradients", "sequential-nested"),
        "backward changed the module",
    ),
    Mistake(
        "06-optimizers",
        SGD,
        "Nesterov on the old buffer",
        (
            (
                'state["momentum_buffer"] = buffer\n',
                'old_buffer = state.get("momentum_buffer", buffer)\n'
                '                state["momentum_buffer"] = buffer\n',
            ),
            ("grad = grad + self.momentum * buffer", "grad = grad + self.momentum * old_buffer"),
        ),
        ("sgd-nesterov",),
        "with the old buffer",
    ),
    Mistake(
        "06-optimizers",
        SGD,
        "weight decay subtracted",
        (
            (
                "grad = grad + self.weight_decay * param.data",
                "grad = grad - self.weight_decay * param.data",
            ),
        ),
        ("sgd-weight-decay",),
        "weight decay has the wrong sign",
    ),
    Mistake(
        "06-optimizers",
        ADAM,
        "the betas weight the new gradient",
        (
            (
                'state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * grad',
                'state["exp_avg"] = (1 - beta1) * state["exp_avg"] + beta1 * grad',
            ),
            (
                'state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad * grad',
                'state["exp_avg_sq"] = (1 - beta2) * state["exp_avg_sq"] + beta2 * grad * grad',
            ),
        ),
        ("adam-default", "adam-betas", "adam-weight-decay", "adam-decoupled"),
        "weight the new gradient by beta",
    ),
    Mistake(
        "07-data",
        DATA_LOADER,
        "shuffle ignored",
        (
            (
                "order = self.rng.permutation(n) if self.shuffle else np.arange(n)",
                "order = np.arange(n)",
            ),
        ),
        ("data-loader-epochs",),
        "shuffle=True left the samples in order",
    ),
    Mistake(
        "07-data",
        DATA_LOADER,
        "batches overlap by one sample",
        (
            (
                "indices = order[start : start + self.batch_size]",
                "indices = order[start : start + self.batch_size + 1]",
            ),
        ),
        ("data-loader-epochs",),
        "expected inputs of shape (1, 2)",
    ),
    Mistake(
        "07-data",
        DATA_LOADER,
        "one permutation for every epoch",
        (
            (
                "order = self.rng.permutation(n) if self.shuffle else np.arange(n)",
                "order = self.__dict__.setdefault('order', self.rng.permutation(n)) if self.shuffle else np.arange(n)",
            ),
        ),
        ("data-loader-epochs",),
        "two epochs came in the same order",
    ),
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "the loss of the last batch returned",
        (("return total_loss / total_samples", "return loss"),),
        ("train-one-epoch-one-epoch",),
        "the loss of the last batch only",
    ),
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "the sum of the batch losses returned",
        (
            ("total_loss += loss * len(targets)", "total_loss += loss"),
            ("return total_loss / total_samples", "return total_loss"),
        ),
        ("train-one-epoch-one-epoch",),
        "the sum of the batch losses",
    ),
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "no optimizer step",
        (("        optimizer.step()\n", ""),),
        ("train-one-epoch-one-epoch", "train-one-epoch-digits"),
        "the parameters never change",
    ),
    Mistake(
        "10-autograd",
        UNBROADCAST,
        "unbroadcast returns grad unchanged",
        (
            (
                "    if grad.shape == shape:  # nothing was broadcast\n        return grad\n",
                "    return grad\n",
            ),
        ),
        (
            "unbroadcast-leading-axes",
            "unbroadcast-stretched-axes",
            "unbroadcast-any-shapes",
            "mul-broadcasting",
            "matmul-batch-axes",
        ),
        "sum grad over them",
    ),
    Mistake(
        "10-autograd",
        EXP,
        "Exp's backward forgets grad",
        (("return grad * y", "return y"),),
        ("exp-gradients",),
        "alone",
    ),
    Mistake(
        "11-stax",
        DENSE,
        "Dense forgets the bias",
        (("return inputs @ W + b", "return inputs @ W"),),
        ("dense-layer", "dense-leading-axes"),
        "x @ W + b",
    ),
    Mistake(
        "11-stax",
        SERIAL,
        "serial applies only the last layer",
        (("        return inputs\n", "        return layer_apply(layer_params, inputs)\n"),),
        ("serial-chain", "serial-nested"),
        "applied in turn, first to last",
    ),
    Mistake(
        "11-stax",
        SERIAL,
        "serial's params listed last layer first",
        (("params.append(layer_params)", "params.insert(0, layer_params)"),),
        ("serial-chain", "serial-nested"),
        "in the order of the layers",
    ),
    Mistake(
        "04-activations-losses",
        TANH,
        "tanh by its exp formula, which overflows",
        (("y = np.tanh(x)", "y = (np.exp(2 * x) - 1) / (np.exp(2 * x) + 1)"),),
        ("tanh-forward",),
        "an exp or a log overflowed",
    ),
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "every input gets a gradient, watched or not",
        (
            (
                "            if is_watched(tensor):\n                add_gradient(",
                "            add_gradient(",
            ),
        ),
        ("walk-tape-skips-what-the-target-does-not-need",),
        "a constant that is not watched",
    ),
]
MISTAKES += NEW_MISTAKES

# -- wrong answers whose hints were vague: each named by a hint of its own -----------------
NAMED_MISTAKES = [
    Mistake(
        "01-chain-rule",
        NUMERICAL_GRADIENT,
        "x[i] -= eps after += eps: f_minus taken at x itself",
        (("x[index] = original - eps\n", "x[index] -= eps\n"),),
        ("numerical-gradient-vectors", "numerical-gradient-any-shape"),
        "the second point is x itself, not x - eps",
    ),
    Mistake(
        "01-chain-rule",
        NUMERICAL_GRADIENT,
        "loops over range(len(x)) instead of every index",
        (("for index in np.ndindex(x.shape):", "for index in range(len(x)):"),),
        ("numerical-gradient-any-shape",),
        "x has shape (), a single number with no len()",
    ),
    Mistake(
        "01-chain-rule",
        CHAIN_RULE,
        "dE/dv chained from dE/dk instead of dE/dM",
        (("de_dv = de_dm * k", "de_dv = de_dk * k"),),
        ("chain-rule-gradients-values",),
        "dE/dv was chained from dE/dk",
    ),
    Mistake(
        "02-modules",
        MUL,
        "dL/dk = sum(k·g): k where x belongs",
        (("np.sum(grad_output * x)", "np.sum(grad_output * self.k.data)"),),
        ("mul-gradients",),
        "the sum of grad_output times k itself",
    ),
    Mistake(
        "02-modules",
        SQUARE,
        "saves the output y = x² instead of the input",
        (
            (
                "self.save_for_backward(x)\n        return x * x",
                "y = x * x\n        self.save_for_backward(y)\n        return y",
            ),
        ),
        ("square-gradients",),
        "evaluated at the output y = f(x) instead of the input x",
    ),
    Mistake(
        "03-linear",
        LINEAR,
        "bias gradient summed over everything (a scalar)",
        (("grad_rows.sum(axis=0)", "grad_rows.sum()"),),
        ("linear-gradients", "linear-batch-axes"),
        "is the sum of all of grad_output",
    ),
    Mistake(
        "03-linear",
        LINEAR,
        "bias gradient summed over axis 1",
        (("grad_rows.sum(axis=0)", "grad_rows.sum(axis=1)"),),
        ("linear-gradients", "linear-batch-axes"),
        "was summed over the features (axis=1)",
    ),
    Mistake(
        "03-linear",
        LINEAR,
        "dL/dx uses weight.grad instead of weight.data",
        (("return grad_output @ self.weight.data.T", "return grad_output @ self.weight.grad.T"),),
        ("linear-gradients", "linear-batch-axes", "linear-no-bias"),
        "uses weight.grad where weight.data belongs",
    ),
    Mistake(
        "04-activations-losses",
        RELU,
        "backward g·relu(x) instead of g·1[x > 0]",
        (("return grad_output * (x > 0)", "return grad_output * np.maximum(x, 0)"),),
        ("relu-gradients",),
        "multiplies grad_output by f(x), the function itself",
    ),
    Mistake(
        "04-activations-losses",
        CROSS_ENTROPY,
        "forward mean over every entry (classes too)",
        (
            (
                "float(-np.sum(target_probs * log_softmax(logits)) / len(logits))",
                "float(-np.mean(target_probs * log_softmax(logits)))",
            ),
        ),
        (
            "cross-entropy-loss-forward",
            "cross-entropy-loss-large-logits",
            "cross-entropy-loss-gradients",
        ),
        "the mean runs over every entry, the classes too",
    ),
    Mistake(
        "04-activations-losses",
        CROSS_ENTROPY,
        "softmax over axis 0 (the batch) in backward",
        (("(softmax(logits) - target_probs)", "(softmax(logits, axis=0) - target_probs)"),),
        ("cross-entropy-loss-gradients",),
        "the softmax runs over axis 0, the batch",
    ),
    Mistake(
        "04-activations-losses",
        SIGMOID,
        "derivative 1 - y² (tanh's)",
        (("return grad_output * y * (1 - y)", "return grad_output * (1 - y * y)"),),
        ("sigmoid-gradients",),
        "by 1 - y², with y the output, but the derivative is f'(x) = y - y²",
    ),
    Mistake(
        "04-activations-losses",
        TANH,
        "derivative (1 - y)² instead of 1 - y²",
        (("return grad_output * (1 - y * y)", "return grad_output * (1 - y) ** 2"),),
        ("tanh-gradients",),
        "by 1 - 2y + y², with y the output, but the derivative is f'(x) = 1 - y²",
    ),
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "forward's return indented into the loop",
        (("x = layer(x)\n        return x", "x = layer(x)\n            return x"),),
        ("sequential-forward", "sequential-gradients", "sequential-nested"),
        "the first layer alone: is forward's `return` inside the loop?",
    ),
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "forward skips the first layer (layers[1:])",
        (
            (
                "for layer in self.layers:\n            x = layer(x)",
                "for layer in self.layers[1:]:\n            x = layer(x)",
            ),
        ),
        ("sequential-forward", "sequential-gradients", "sequential-nested"),
        "every layer but the first",
    ),
    Mistake(
        "06-optimizers",
        SGD,
        "momentum buffer aliases param.grad (no copy)",
        (("buffer = grad.copy()", "buffer = grad"),),
        ("sgd-momentum", "sgd-nesterov"),
        "is param.grad itself, not a copy",
    ),
    Mistake(
        "06-optimizers",
        ADAM,
        "decoupled decay applied after the update",
        (
            (
                "                param.data *= 1 - self.lr * self.weight_decay\n            elif",
                "                pass\n            elif",
            ),
            (
                "param.data -= self.lr * exp_avg_hat / (np.sqrt(exp_avg_sq_hat) + self.eps)",
                "param.data -= self.lr * exp_avg_hat / (np.sqrt(exp_avg_sq_hat) + self.eps)\n"
                "            if self.decoupled_weight_decay:\n"
                "                param.data *= 1 - self.lr * self.weight_decay",
            ),
        ),
        ("adam-decoupled",),
        "decoupled weight decay is applied after the Adam step",
    ),
    Mistake(
        "07-data",
        DATA_LOADER,
        "range stops batch_size early (last batch lost)",
        (("range(0, n, self.batch_size)", "range(0, n - self.batch_size, self.batch_size)"),),
        ("data-loader-epochs",),
        "the loop ends one batch early",
    ),
    Mistake(
        "07-data",
        DATA_LOADER,
        "drop_last with <= drops full batches too",
        (("len(indices) < self.batch_size", "len(indices) <= self.batch_size"),),
        ("data-loader-epochs",),
        "drop_last skips only a batch smaller than batch_size",
    ),
    Mistake(
        "07-data",
        DATA_LOADER,
        "yields dataset[indices], bypassing fetch (no transform)",
        (("yield self.fetch(indices)", "yield self.dataset[indices]"),),
        ("data-loader-epochs", "data-loader-transform"),
        "yield self.fetch(indices)",
    ),
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "model.backward(loss) instead of loss_fn.backward()",
        (("model.backward(loss_fn.backward())", "model.backward(loss)"),),
        ("train-one-epoch-one-epoch", "train-one-epoch-digits"),
        "not the loss value",
    ),
    Mistake(
        "10-autograd",
        UNBROADCAST,
        "sums the trailing axes instead of the leading added ones",
        (
            (
                "added_axes = tuple(range(grad.ndim - len(shape)))",
                "added_axes = tuple(range(len(shape), grad.ndim))",
            ),
        ),
        (
            "unbroadcast-leading-axes",
            "unbroadcast-any-shapes",
            "mul-broadcasting",
            "matmul-batch-axes",
        ),
        "the trailing axes of grad were summed",
    ),
    Mistake(
        "10-autograd",
        AG_MUL,
        "each gradient unbroadcast to the other operand's shape",
        (
            (
                "unbroadcast(grad * b, a.shape), unbroadcast(grad * a, b.shape)",
                "unbroadcast(grad * b, b.shape), unbroadcast(grad * a, a.shape)",
            ),
        ),
        ("mul-broadcasting",),
        "the gradient of 'a' has the shape of 'b'",
    ),
    Mistake(
        "10-autograd",
        MATMUL,
        ".T instead of swapaxes (reverses batch axes)",
        (
            ("grad @ np.swapaxes(b, -1, -2)", "grad @ b.T"),
            ("np.swapaxes(a, -1, -2) @ grad", "a.T @ grad"),
        ),
        ("matmul-batch-axes",),
        ".T reverses every axis",
    ),
    Mistake(
        "10-autograd",
        AG_SUM,
        "Sum backward broadcasts without restoring the summed axes",
        (("grad = grad.reshape(keepdims_shape(self.input_shape, self.axis))\n", ""),),
        ("sum-axis",),
        "grad has the output's shape, without the reduced axes",
    ),
    Mistake(
        "10-autograd",
        AG_SUM,
        "Sum backward returns ones, grad forgotten",
        (("return np.broadcast_to(grad, self.input_shape)", "return np.ones(self.input_shape)"),),
        ("sum-all-axes", "sum-axis"),
        "the same gradient whatever grad it is given",
    ),
    Mistake(
        "10-autograd",
        AG_TANH,
        "Tanh derivative 1 + y²: a sign slip",
        (("return grad * (1 - y * y)", "return grad * (1 + y * y)"),),
        ("tanh-gradients",),
        "by 1 + y², with y the output, but the derivative is f'(x) = 1 - y²",
    ),
    Mistake(
        "11-stax",
        DENSE,
        "W's in_dim from input_shape[0] (the batch) not [-1]",
        (
            (
                "W_init((input_shape[-1], out_dim), rng=rng)",
                "W_init((input_shape[0], out_dim), rng=rng)",
            ),
        ),
        ("dense-layer", "dense-leading-axes"),
        "read in_dim off the last axis",
    ),
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "break instead of continue at an unrelated operation",
        (("continue", "break"),),
        ("walk-tape-skips-what-the-target-does-not-need",),
        "don't end the walk there (break)",
    ),
    Mistake(
        "14-tapes",
        AG_SIN,
        "sin' = -cos: a sign slip",
        (("return grad * cos(x)", "return grad * -cos(x)"),),
        ("sin-gradients",),
        "the gradient has the wrong sign",
    ),
    Mistake(
        "14-tapes",
        SOFTPLUS,
        "softplus' = sigmoid(-x)",
        (("return grad * sigmoid(x)", "return grad * sigmoid(-x)"),),
        ("softplus-gradients",),
        "the derivative is evaluated at -x",
    ),
    Mistake(
        "14-tapes",
        GRADIENT_TAPE,
        "the output of a recorded operation is not watched",
        (("            self.watched.add(output)\n", ""),),
        (
            "gradient-tape-records-watched-operations",
            "gradient-tape-watches-leaves-that-require-a-gradient",
            "gradient-tape-nested-second-derivative",
        ),
        "the output of a recorded operation is not watched",
    ),
    Mistake(
        "01-chain-rule",
        NUMERICAL_GRADIENT,
        "(f_plus - f_minus) / 2 * eps: precedence multiplies by eps",
        (("(f_plus - f_minus) / (2 * eps)", "(f_plus - f_minus) / 2 * eps"),),
        ("numerical-gradient-vectors", "numerical-gradient-any-shape"),
        "multiplied by eps instead of divided by it",
    ),
    Mistake(
        "02-modules",
        SQUARE,
        "x = self.saved_tensors: the 1-tuple used whole",
        (("        (x,) = self.saved_tensors\n", "        x = self.saved_tensors\n"),),
        ("square-gradients",),
        "(x,) = self.saved_tensors",
    ),
    Mistake(
        "07-data",
        DATA_LOADER,
        "range(0, n + 1, batch_size): an empty batch at the end when batch_size divides n",
        (
            (
                "for start in range(0, n, self.batch_size):",
                "for start in range(0, n + 1, self.batch_size):",
            ),
        ),
        ("data-loader-epochs",),
        "the last batch is empty",
    ),
    Mistake(
        "06-optimizers",
        ADAM,
        "the second moment averages grad, not grad²",
        (("(1 - beta2) * grad * grad", "(1 - beta2) * grad"),),
        ("adam-default", "adam-betas", "adam-weight-decay", "adam-decoupled"),
        "the square root of a negative number",
    ),
    Mistake(
        "10-autograd",
        MATMUL,
        "dL/da = bᵀ @ grad: the factors in the wrong order",
        (("grad_a = grad @ np.swapaxes(b, -1, -2)", "grad_a = np.swapaxes(b, -1, -2) @ grad"),),
        ("matmul-matrices", "matmul-batch-axes"),
        "dL/da = grad @ bᵀ (grad on the left)",
    ),
    Mistake(
        "04-activations-losses",
        RELU,
        "np.max(x, 0), a reduction over axis 0, for np.maximum(x, 0)",
        (("return np.maximum(x, 0)", "return np.max(x, 0)"),),
        ("relu-forward", "relu-gradients"),
        "not np.max(x, 0)",
    ),
    # Full marks before the graded tests were extended (found by an independent probe).
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "the hidden ReLU left out: two stacked Linear layers, an affine model",
        (
            (
                "model = Sequential(Linear(64, 64, rng=rng), ReLU(), Linear(64, 10, rng=rng))",
                "model = Sequential(Linear(64, 64, rng=rng), Linear(64, 10, rng=rng))",
            ),
        ),
        ("train-digits-outputs-are-logits",),
        "keep the ReLU between the two Linear layers",
    ),
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "grads.pop(output): the gradients of intermediate tensors are dropped",
        (("grad = grads.get(output)", "grad = grads.pop(output, None)"),),
        ("walk-tape-matches-grad",),
        "don't remove it from grads",
    ),
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "images and labels shuffled by two separate rng.shuffle calls",
        (
            (
                "X_train, y_train = X_train[order], y_train[order]",
                "rng.shuffle(X_train)\n        rng.shuffle(y_train)",
            ),
        ),
        ("train-digits-labels-follow-images", "train-digits-accuracy"),
        "were trained with another image's label",
    ),
    Mistake(
        "12-convolutions",
        MAX_POOL2D,
        "backward returns float64 for a float32 grad_output",
        (("return grad.transpose(0, 3, 1, 2)", "return grad.transpose(0, 3, 1, 2).astype(float)"),),
        ("max-pool2d-ties",),
        "keep grad_output's dtype",
    ),
    Mistake(
        "14-tapes",
        SOFTPLUS,
        "softplus' = exp(x) / (1 + exp(x)), which overflows to nan at large x",
        (
            (
                "return grad * sigmoid(x)",
                "from pancake.autograd.functions import exp\n\n        "
                "return grad * exp(x) / (1 + exp(x))",
            ),
        ),
        ("softplus-gradients",),
        "at large |x|",
    ),
]
MISTAKES += NAMED_MISTAKES

# -- wrong answers that scored full marks in an independent probe ----------------------------
FULL_MARK_MISTAKES = [
    Mistake(
        "04-activations-losses",
        SIGMOID,
        "sigmoid as exp(x) / (1 + exp(x)), nan at large x",
        (("y = sigmoid(x)", "y = np.exp(x) / (1 + np.exp(x))"),),
        ("sigmoid-forward", "sigmoid-gradients"),
        "an exp or a log overflowed",
    ),
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "the shuffle deleted, not mended",
        (("        X_train, y_train = X_train[order], y_train[order]\n", ""),),
        ("train-digits-labels-follow-images",),
        "the script must shuffle the training data",
    ),
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "shuffled once, before the first epoch",
        (
            (
                "    for _ in range(epochs):\n        order = rng.permutation(len(X_train))\n",
                "    order = rng.permutation(len(X_train))\n"
                "    X_train, y_train = X_train[order], y_train[order]\n"
                "    for _ in range(epochs):\n",
            ),
            ("        X_train, y_train = X_train[order], y_train[order]\n", ""),
        ),
        ("train-digits-labels-follow-images",),
        "shuffle the training data at every epoch",
    ),
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "zero_grad after the step: gradients from before the epoch leak into its first step",
        (
            ("        optimizer.zero_grad()\n", ""),
            (
                "        optimizer.step()\n",
                "        optimizer.step()\n        optimizer.zero_grad()\n",
            ),
        ),
        ("train-one-epoch-one-epoch",),
        "from before the epoch",
    ),
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "the loss divided by the data set's size, wrong with drop_last=True",
        (("return total_loss / total_samples", "return total_loss / len(loader.dataset)"),),
        ("train-one-epoch-one-epoch",),
        "with drop_last=True the loader skips",
    ),
    Mistake(
        "12-convolutions",
        CONV2D,
        "the padded input made without dtype: float32 becomes float64",
        (("self.in_channels), dtype=x.dtype)", "self.in_channels))"),),
        ("conv2d-forward", "conv2d-gradients"),
        "keep the input's dtype",
    ),
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "zero_grad once per epoch, before the batch loop",
        (
            ("            optimizer.zero_grad()\n", ""),
            (
                "        for start in range(0, len(X_train), 32):\n",
                "        optimizer.zero_grad()\n        for start in range(0, len(X_train), 32):\n",
            ),
        ),
        ("train-digits-fresh-gradients", "train-digits-accuracy"),
        "reset before each backward pass",
    ),
    Mistake(
        "11-stax",
        DENSE,
        "b drawn with W_init, b_init ignored",
        (("b = b_init((out_dim,), rng=rng)", "b = W_init((out_dim,), rng=rng)"),),
        ("dense-layer", "dense-leading-axes"),
        "b with b_init",
    ),
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "the record reversed in place (a persistent tape's second gradient is lost)",
        (("in reversed(operations):", "in operations.reverse() or operations:"),),
        ("walk-tape-matches-grad",),
        "walk_tape changed the record it was given",
    ),
]
MISTAKES += FULL_MARK_MISTAKES

# Hints that name the mistake, diagnosed on generic inputs (issue 10): wrong answers from two
# independent probes, each named by a hint of its own.
HINTED_MISTAKES = [
    Mistake(
        "03-linear",
        LINEAR,
        "forward saves its output instead of its input",
        (
            (
                "        self.save_for_backward(x)\n        output = x @ self.weight.data\n"
                "        if self.bias is not None:\n            output = output + self.bias.data\n",
                "        output = x @ self.weight.data\n"
                "        if self.bias is not None:\n            output = output + self.bias.data\n"
                "        self.save_for_backward(output)\n",
            ),
        ),
        ("linear-gradients", "linear-batch-axes", "linear-no-bias"),
        "computed from the module's output, not from its input",
    ),
    Mistake(
        "04-activations-losses",
        CROSS_ENTROPY,
        "backward divided by the number of classes",
        (
            (
                "(softmax(logits) - target_probs) / len(logits)",
                "(softmax(logits) - target_probs) / logits.shape[1]",
            ),
        ),
        ("cross-entropy-loss-gradients",),
        "divided by the number of classes",
    ),
    Mistake(
        "13-normalization",
        STANDARDIZE_BACKWARD,
        "sums instead of means over the axes",
        (
            (
                "mean_grad = grad_x_hat.mean(axis=axes, keepdims=True)",
                "mean_grad = grad_x_hat.sum(axis=axes, keepdims=True)",
            ),
            (
                "mean_grad_along_x_hat = (grad_x_hat * x_hat).mean(axis=axes, keepdims=True)",
                "mean_grad_along_x_hat = (grad_x_hat * x_hat).sum(axis=axes, keepdims=True)",
            ),
        ),
        (
            "standardize-backward-gradients",
            "standardize-backward-sums-to-zero",
            "batch-norm-training-gradients",
        ),
        "the means over the axes are sums",
    ),
    Mistake(
        "13-normalization",
        STANDARDIZE_BACKWARD,
        "the bracket divided by inv_std (taken as the standard deviation)",
        (("return inv_std * (grad_x_hat", "return (1 / inv_std) * (grad_x_hat"),),
        ("standardize-backward-gradients", "batch-norm-training-gradients"),
        "the bracket is divided by inv_std",
    ),
    Mistake(
        "13-normalization",
        STANDARDIZE_BACKWARD,
        "mean(ĝ·x̂) computed as mean(ĝ)·mean(x̂)",
        (
            (
                "(grad_x_hat * x_hat).mean(axis=axes, keepdims=True)",
                "grad_x_hat.mean(axis=axes, keepdims=True) * x_hat.mean(axis=axes, keepdims=True)",
            ),
        ),
        ("standardize-backward-gradients", "batch-norm-training-gradients"),
        "not the product of the means",
    ),
    Mistake(
        "13-normalization",
        STANDARDIZE_BACKWARD,
        "inv_std multiplies only grad_x_hat (brackets forgotten)",
        (
            (
                "inv_std * (grad_x_hat - mean_grad - x_hat * mean_grad_along_x_hat)",
                "inv_std * grad_x_hat - mean_grad - x_hat * mean_grad_along_x_hat",
            ),
        ),
        (
            "standardize-backward-gradients",
            "standardize-backward-sums-to-zero",
            "batch-norm-training-gradients",
        ),
        "inv_std multiplies only grad_x_hat",
    ),
    Mistake(
        "13-normalization",
        STANDARDIZE_BACKWARD,
        "keepdims forgotten on the means",
        (
            ("grad_x_hat.mean(axis=axes, keepdims=True)", "grad_x_hat.mean(axis=axes)"),
            (
                "(grad_x_hat * x_hat).mean(axis=axes, keepdims=True)",
                "(grad_x_hat * x_hat).mean(axis=axes)",
            ),
        ),
        ("standardize-backward-gradients", "batch-norm-training-gradients"),
        "keep the axes they average over (keepdims=True)",
    ),
    Mistake(
        "13-normalization",
        BATCH_NORM,
        "running update with momentum on the old value (the Keras convention)",
        (
            ("(1 - m) * self.running_mean + m * mean", "m * self.running_mean + (1 - m) * mean"),
            (
                "(1 - m) * self.running_var + m * unbiased_var",
                "m * self.running_var + (1 - m) * unbiased_var",
            ),
        ),
        ("batch-norm-running-statistics",),
        "momentum weights the old running value",
    ),
    Mistake(
        "13-normalization",
        BATCH_NORM,
        "the unbiased correction counts the batch size, not the values per channel",
        (("count = x.size // self.num_features", "count = x.shape[0]"),),
        ("batch-norm-running-statistics",),
        "counts the values per channel",
    ),
    Mistake(
        "13-normalization",
        BATCH_NORM,
        "training mode normalises with the unbiased variance (ddof=1)",
        (("var = x.var(axis=self.reduce_axes)", "var = x.var(axis=self.reduce_axes, ddof=1)"),),
        (
            "batch-norm-training-forward",
            "batch-norm-running-statistics",
            "batch-norm-training-gradients",
        ),
        "standardised with the unbiased variance (ddof=1)",
    ),
    Mistake(
        "13-normalization",
        BATCH_NORM,
        "statistics over axis 0 only (the BatchNorm1d habit)",
        (
            (
                "mean = x.mean(axis=self.reduce_axes)\n            var = x.var(axis=self.reduce_axes)",
                "mean = x.mean(axis=0)\n            var = x.var(axis=0)",
            ),
        ),
        (
            "batch-norm-training-forward",
            "batch-norm-running-statistics",
            "batch-norm-training-gradients",
        ),
        "not over axis 0 only",
    ),
    Mistake(
        "12-convolutions",
        CONV2D,
        "the stride ignored: windows taken at stride 1",
        (
            (
                "unfold(padded, self.kernel_size, self.stride)",
                "unfold(padded, self.kernel_size, (1, 1))",
            ),
        ),
        ("conv2d-forward", "conv2d-gradients", "conv2d-first-layer"),
        "the windows are taken at stride 1",
    ),
    Mistake(
        "12-convolutions",
        CONV2D,
        "kernels flattened as weight.reshape(c_out, -1), not channels last",
        (
            (
                "self.weight.data.transpose(0, 2, 3, 1).reshape(c_out, -1)",
                "self.weight.data.reshape(c_out, -1)",
            ),
        ),
        ("conv2d-forward", "conv2d-gradients", "conv2d-first-layer"),
        "flatten weight.transpose(0, 2, 3, 1)",
    ),
    Mistake(
        "12-convolutions",
        CONV2D,
        "the padding cropped with [ph:-ph], empty when the padding is 0",
        (("grad_padded[:, ph : height - ph, pw : width - pw]", "grad_padded[:, ph:-ph, pw:-pw]"),),
        ("conv2d-gradients", "conv2d-first-layer"),
        "A slice a[p:-p] is empty when p = 0",
    ),
    Mistake(
        "12-convolutions",
        CONV2D,
        "the bias added after the reshape to (N, C_out, H', W')",
        (
            (
                "        if self.bias is not None:\n            output += self.bias.data\n"
                "        return output.reshape(n, out_h, out_w, c_out).transpose(0, 3, 1, 2)",
                "        output = output.reshape(n, out_h, out_w, c_out).transpose(0, 3, 1, 2)\n"
                "        if self.bias is not None:\n            output = output + self.bias.data\n"
                "        return output",
            ),
        ),
        ("conv2d-forward", "conv2d-gradients", "conv2d-first-layer"),
        "lines up with the last axis",
    ),
    Mistake(
        "12-convolutions",
        CONV2D,
        "the weight gradient reshaped to (c_out, c_in, kh, kw) directly, not from channels last",
        (
            (
                "grad_kernels = (grad_rows.T @ columns).reshape(c_out, kh, kw, self.in_channels)\n"
                "        self.weight.grad += grad_kernels.transpose(0, 3, 1, 2)",
                "grad_kernels = (grad_rows.T @ columns).reshape(c_out, self.in_channels, kh, kw)\n"
                "        self.weight.grad += grad_kernels",
            ),
        ),
        ("conv2d-gradients", "conv2d-first-layer"),
        "the right values in the wrong places",
    ),
    Mistake(
        "01-chain-rule",
        NUMERICAL_GRADIENT,
        "grad[index] = ... dedented out of the loop: only the last entry set",
        (
            (
                "        x[index] = original\n        grad[index] = (f_plus - f_minus) / (2 * eps)",
                "        x[index] = original\n    grad[index] = (f_plus - f_minus) / (2 * eps)",
            ),
        ),
        ("numerical-gradient-vectors", "numerical-gradient-any-shape"),
        "is the assignment inside the loop",
    ),
    Mistake(
        "06-optimizers",
        SGD,
        "weight decay as weight_decay * grad instead of weight_decay * param",
        (
            (
                "grad = grad + self.weight_decay * param.data",
                "grad = grad + self.weight_decay * grad",
            ),
        ),
        ("sgd-weight-decay",),
        "weight decay is weight_decay * grad",
    ),
    Mistake(
        "06-optimizers",
        SGD,
        "the learning rate folded into the momentum buffer, and applied again in the step",
        (
            (
                'buffer = self.momentum * state["momentum_buffer"] + (1 - self.dampening) * grad',
                'buffer = self.momentum * state["momentum_buffer"] + self.lr * (1 - self.dampening) * grad',
            ),
            ("buffer = grad.copy()", "buffer = self.lr * grad"),
        ),
        ("sgd-momentum", "sgd-nesterov", "sgd-weight-decay"),
        "the learning rate is applied twice",
    ),
    Mistake(
        "06-optimizers",
        ADAM,
        "the second moment bias-corrected with beta1 (copy-paste)",
        (
            (
                'state["exp_avg_sq"] / (1 - beta2 ** state["step"])',
                'state["exp_avg_sq"] / (1 - beta1 ** state["step"])',
            ),
        ),
        ("adam-default", "adam-betas", "adam-weight-decay", "adam-decoupled"),
        "the second moment is bias-corrected with beta1",
    ),
    Mistake(
        "06-optimizers",
        ADAM,
        "the bias correction of v outside the square root: sqrt(v) / (1 - beta2**t)",
        (
            (
                'exp_avg_sq_hat = state["exp_avg_sq"] / (1 - beta2 ** state["step"])',
                'exp_avg_sq_hat = state["exp_avg_sq"] / (1 - beta2 ** state["step"]) ** 2',
            ),
        ),
        ("adam-default", "adam-betas", "adam-weight-decay", "adam-decoupled"),
        "outside the square root",
    ),
    Mistake(
        "02-modules",
        MUL,
        "dL/dk by np.dot(g, x), a matrix product, instead of an entry-wise sum",
        (("np.sum(grad_output * x)", "np.dot(grad_output, x)"),),
        ("mul-gradients",),
        "a matrix product",
    ),
    Mistake(
        "02-modules",
        MUL,
        "forward multiplies by the Parameter, not its .data",
        (("return self.k.data * x", "return self.k * x"),),
        ("mul-forward", "mul-gradients"),
        "is not an array: compute with its values, .data",
    ),
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "backward iterates over self.layers.reverse(), which returns None",
        (("for layer in reversed(self.layers):", "for layer in self.layers.reverse():"),),
        ("sequential-gradients", "sequential-nested"),
        "list.reverse() and list.sort() work in place and return None",
    ),
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "loss_fn(targets, model(inputs)): the arguments swapped",
        (("loss_fn(model(inputs), targets)", "loss_fn(targets, model(inputs))"),),
        ("train-one-epoch-one-epoch", "train-one-epoch-digits"),
        "are the arguments swapped?",
    ),
    Mistake(
        "11-stax",
        DENSE,
        "init_fun returns (params, output_shape), the pair swapped",
        (("return output_shape, (W, b)", "return (W, b), output_shape"),),
        ("dense-layer", "dense-leading-axes"),
        "return (output_shape, params), the output shape first",
    ),
    Mistake(
        "11-stax",
        DENSE,
        "apply_fun computes W @ inputs + b, the math's Wx",
        (("return inputs @ W + b", "return W @ inputs + b"),),
        ("dense-layer", "dense-leading-axes"),
        "multiply them on the left, inputs @ W",
    ),
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "the seed ignored: the walk starts from ones (target.data ** 0)",
        (("{target: seed}", "{target: target.data ** 0}"),),
        (
            "walk-tape-with-a-tensor-seed-records-the-gradient",
            "gradient-tape-nested-second-derivative",
        ),
        "walk_tape ignores its seed",
    ),
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "a ReLU after the last Linear layer (the Softmax replaced by a ReLU)",
        (("Linear(64, 10, rng=rng))", "Linear(64, 10, rng=rng), ReLU())"),),
        ("train-digits-outputs-are-logits", "train-digits-accuracy"),
        "the model ends with ReLU, not with its last Linear layer",
    ),
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "loss_fn.zero_grad() in place of optimizer.zero_grad()",
        (("            optimizer.zero_grad()", "            loss_fn.zero_grad()"),),
        ("train-digits-fresh-gradients", "train-digits-accuracy"),
        "the training loss grows",
    ),
    Mistake(
        "04-activations-losses",
        CROSS_ENTROPY,
        "forward without the minus sign",
        (
            (
                "float(-np.sum(target_probs * log_softmax(logits)) / len(logits))",
                "float(np.sum(target_probs * log_softmax(logits)) / len(logits))",
            ),
        ),
        (
            "cross-entropy-loss-forward",
            "cross-entropy-loss-large-logits",
            "cross-entropy-loss-gradients",
        ),
        "the sign is wrong",
    ),
    Mistake(
        "04-activations-losses",
        CROSS_ENTROPY,
        "backward's softmax normalised over the whole batch (no axis)",
        (
            (
                "(softmax(logits) - target_probs) / len(logits)",
                "(np.exp(logits) / np.exp(logits).sum() - target_probs) / len(logits)",
            ),
        ),
        ("cross-entropy-loss-large-logits", "cross-entropy-loss-gradients"),
        "normalised over every entry of the batch at once",
    ),
    Mistake(
        "02-modules",
        MUL,
        "dL/dk = sum(g)·sum(x), a product of sums",
        (("np.sum(grad_output * x)", "np.sum(grad_output) * np.sum(x)"),),
        ("mul-gradients",),
        "a product of sums",
    ),
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "forward runs the layers last to first, backward first to last",
        (
            (
                "for layer in self.layers:\n            x = layer(x)",
                "for layer in reversed(self.layers):\n            x = layer(x)",
            ),
            (
                "for layer in reversed(self.layers):\n            grad_output",
                "for layer in self.layers:\n            grad_output",
            ),
        ),
        ("sequential-forward", "sequential-gradients", "sequential-nested"),
        "the layers applied last to first",
    ),
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "forward returns layer(x): the last layer applied twice",
        (
            (
                "            x = layer(x)\n        return x",
                "            x = layer(x)\n        return layer(x)",
            ),
        ),
        ("sequential-forward", "sequential-gradients", "sequential-nested"),
        "then the last one again",
    ),
    Mistake(
        "12-convolutions",
        MAX_POOL2D,
        "the gradient not transposed back to (N, C, H, W)",
        (("return grad.transpose(0, 3, 1, 2)", "return grad"),),
        ("max-pool2d-gradients", "max-pool2d-ties"),
        "axes are in another order",
    ),
    Mistake(
        "10-autograd",
        AG_TANH,
        "brackets forgotten: grad * 1 - y * y",
        (("return grad * (1 - y * y)", "return grad * 1 - y * y"),),
        ("tanh-gradients",),
        "does not scale with grad_output",
    ),
    Mistake(
        "14-tapes",
        SOFTPLUS,
        "softplus' taken as σ(x)(1 - σ(x)), the sigmoid's derivative",
        (("return grad * sigmoid(x)", "return grad * sigmoid(x) * (1 - sigmoid(x))"),),
        ("softplus-gradients",),
        "the derivative of the sigmoid",
    ),
    Mistake(
        "02-modules",
        SQUARE,
        "backward adds instead of multiplying: g + 2x",
        (("return grad_output * 2 * x", "return grad_output + 2 * x"),),
        ("square-gradients",),
        "does not scale with grad_output",
    ),
    Mistake(
        "04-activations-losses",
        SIGMOID,
        "brackets forgotten: g·y - y² instead of g·y(1 - y)",
        (("grad_output * y * (1 - y)", "grad_output * y - y * y"),),
        ("sigmoid-gradients",),
        "does not scale with grad_output",
    ),
    Mistake(
        "01-chain-rule",
        CHAIN_RULE,
        "d(M²)/dM written 2·E (E where M belongs)",
        (("de_dm = 2 * m", "de_dm = 2 * e"),),
        ("chain-rule-gradients-values",),
        "dE/dM is 2·M, not 2·E",
    ),
    Mistake(
        "03-linear",
        LINEAR,
        "dL/dx computed from the flattened grad_rows (the leading axes lost)",
        (("return grad_output @ self.weight.data.T", "return grad_rows @ self.weight.data.T"),),
        ("linear-batch-axes",),
        "lost axes",
    ),
    Mistake(
        "11-stax",
        DENSE,
        "b of shape (in_dim,): W's first axis copied",
        (("b_init((out_dim,), rng=rng)", "b_init((input_shape[-1],), rng=rng)"),),
        ("dense-layer", "dense-leading-axes"),
        "has the input's size, input_shape[-1]",
    ),
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "grads[output] instead of grads.get(output): a KeyError at an operation the target does not need",
        (("grad = grads.get(output)", "grad = grads[output]"),),
        ("walk-tape-skips-what-the-target-does-not-need", "gradient-tape-nested-second-derivative"),
        "read it with grads.get(output)",
    ),
    Mistake(
        "12-convolutions",
        MAX_POOL2D,
        "every entry of a window gets the window's gradient (is_winner left out)",
        (
            (
                "grad_entries = is_winner * grad_output.transpose(0, 2, 3, 1)",
                "grad_entries = np.ones(is_winner.shape) * grad_output.transpose(0, 2, 3, 1)",
            ),
        ),
        ("max-pool2d-gradients", "max-pool2d-ties"),
        "only the window's first maximum does",
    ),
    Mistake(
        "07-data",
        DATA_LOADER,
        "order[start : batch_size]: the end of the slice does not move",
        (("order[start : start + self.batch_size]", "order[start : self.batch_size]"),),
        ("data-loader-epochs",),
        "the batch is short",
    ),
    Mistake(
        "07-data",
        DATA_LOADER,
        "the transform applied again on top of fetch's",
        (
            (
                "yield self.fetch(indices)",
                "batch = self.fetch(indices)\n            if self.transform is not None:\n"
                "                batch = (self.transform(batch[0]), *batch[1:])\n"
                "            yield batch",
            ),
        ),
        ("data-loader-transform",),
        "applied twice (fetch applies it",
    ),
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "optimizer.step() dedented out of the loop: one step per epoch",
        (
            ("        optimizer.step()\n        total_loss", "        total_loss"),
            (
                "    return total_loss / total_samples",
                "    optimizer.step()\n    return total_loss / total_samples",
            ),
        ),
        ("train-one-epoch-one-epoch", "train-one-epoch-digits"),
        "optimizer.step() never ran for this batch; call it once per batch",
    ),
    Mistake(
        "10-autograd",
        AG_MUL,
        "unbroadcast before multiplying: unbroadcast(grad, a.shape) * b",
        (
            (
                "unbroadcast(grad * b, a.shape), unbroadcast(grad * a, b.shape)",
                "unbroadcast(grad, a.shape) * b, unbroadcast(grad, b.shape) * a",
            ),
        ),
        ("mul-broadcasting",),
        "as the last step (a product taken after it broadcasts the gradient again)",
    ),
    # --- B (session 4) ---
    Mistake(
        "06-optimizers",
        SGD,
        "dampening ignored: buffer = momentum * buffer + grad",
        (
            (
                'buffer = self.momentum * state["momentum_buffer"] + (1 - self.dampening) * grad',
                'buffer = self.momentum * state["momentum_buffer"] + grad',
            ),
        ),
        ("sgd-momentum",),
        "with dampening=0 your steps are right",
    ),
    Mistake(
        "06-optimizers",
        SGD,
        "Nesterov written buffer + momentum * grad",
        (("grad = grad + self.momentum * buffer", "grad = buffer + self.momentum * grad"),),
        ("sgd-nesterov",),
        "with nesterov=False your steps are right",
    ),
    Mistake(
        "06-optimizers",
        SGD,
        "one momentum buffer for all parameters (the first one's state)",
        (
            (
                'if "momentum_buffer" not in state:',
                'state = self.state[0]\n                if "momentum_buffer" not in state:',
            ),
        ),
        ("sgd-momentum", "sgd-nesterov", "sgd-weight-decay"),
        "the state (momentum buffer, moments, step count) is shared",
    ),
    Mistake(
        "06-optimizers",
        SGD,
        "weight decay 2 * weight_decay * param (the derivative of weight_decay * param**2)",
        (
            (
                "grad = grad + self.weight_decay * param.data",
                "grad = grad + 2 * self.weight_decay * param.data",
            ),
        ),
        ("sgd-weight-decay",),
        "the weight decay line is wrong",
    ),
    Mistake(
        "06-optimizers",
        SGD,
        "the update indented into the momentum branch",
        (
            (
                "                    grad = buffer\n            param.data -= self.lr * grad",
                "                    grad = buffer\n                param.data -= self.lr * grad",
            ),
        ),
        ("sgd-plain", "sgd-weight-decay"),
        "only in the momentum branch",
    ),
    Mistake(
        "06-optimizers",
        ADAM,
        "betas unpacked in the wrong order",
        (("beta1, beta2 = self.betas", "beta2, beta1 = self.betas"),),
        ("adam-default", "adam-betas", "adam-weight-decay", "adam-decoupled"),
        "beta1 and beta2 are swapped",
    ),
    Mistake(
        "07-data",
        DATA_LOADER,
        "order = rng.shuffle(...) (shuffles in place, returns None)",
        (
            (
                "order = self.rng.permutation(n) if self.shuffle else np.arange(n)",
                "order = self.rng.shuffle(np.arange(n)) if self.shuffle else np.arange(n)",
            ),
        ),
        ("data-loader-epochs",),
        "`order` is None",
    ),
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "loss.backward() as in PyTorch",
        (("model.backward(loss_fn.backward())", "loss.backward()"),),
        ("train-one-epoch-one-epoch", "train-one-epoch-digits"),
        "a pancake loss returns a plain float",
    ),
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "gradients reset by p.grad = None (PyTorch's set_to_none)",
        (
            (
                "            optimizer.zero_grad()\n",
                "            for p in model.parameters():\n                p.grad = None\n",
            ),
        ),
        (
            "train-digits-outputs-are-logits",
            "train-digits-labels-follow-images",
            "train-digits-fresh-gradients",
            "train-digits-validation-data",
            "train-digits-accuracy",
        ),
        "`self.weight.grad` is None",
    ),
    Mistake(
        "11-stax",
        DENSE,
        "output shape input_shape[:-1] + (out_dim): a tuple plus an int",
        (("+ (out_dim,)", "+ (out_dim)"),),
        ("dense-layer", "dense-leading-axes"),
        "a tuple of one entry needs a comma, (n,)",
    ),
    Mistake(
        "11-stax",
        SERIAL,
        "layer_init(input_shape, rng): arguments swapped",
        (("layer_init(rng, input_shape)", "layer_init(input_shape, rng)"),),
        ("serial-chain", "serial-nested"),
        "`layer_init` takes (rng, input_shape)",
    ),
    Mistake(
        "01-chain-rule",
        CHAIN_RULE,
        "dE/dk written 2E/k (divides by zero at k = 0)",
        (("de_dk = de_dm * v", "de_dk = 2 * e / k"),),
        ("chain-rule-gradients-values",),
        "a division by a value that is 0",
    ),
    Mistake(
        "07-data",
        DATA_LOADER,
        "for start in range(len(self)): batch numbers used as sample positions",
        (("for start in range(0, n, self.batch_size):", "for start in range(len(self)):"),),
        ("data-loader-epochs",),
        "step the start by batch_size",
    ),
    Mistake(
        "07-data",
        DATA_LOADER,
        "n = len(self), the number of batches, used as the number of samples",
        (("n = len(self.dataset)", "n = len(self)"),),
        ("data-loader-epochs",),
        "loop over every sample, n = len(self.dataset)",
    ),
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "the mean loss by floor division //",
        (("return total_loss / total_samples", "return total_loss // total_samples"),),
        ("train-one-epoch-one-epoch",),
        "// is floor division",
    ),
    Mistake(
        "11-stax",
        DENSE,
        "apply_fun unpacks params as b, W (the other order)",
        (("W, b = params", "b, W = params"),),
        ("dense-layer", "dense-leading-axes"),
        "unpack params in the order init_fun returns them",
    ),
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "break at the first unwatched input of an operation",
        (
            (
                "            if is_watched(tensor):\n"
                "                add_gradient(grads, tensor, tensor_grad)",
                "            if not is_watched(tensor):\n"
                "                break\n"
                "            add_gradient(grads, tensor, tensor_grad)",
            ),
        ),
        ("gradient-tape-nested-second-derivative",),
        "don't end the loop over the inputs there (break)",
    ),
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "the gradients start empty: the target is never seeded",
        (("grads: dict[Tensor, Gradient] = {target: seed}", "grads: dict[Tensor, Gradient] = {}"),),
        (
            "walk-tape-matches-grad",
            "walk-tape-skips-what-the-target-does-not-need",
            "walk-tape-with-a-tensor-seed-records-the-gradient",
            "gradient-tape-records-watched-operations",
            "gradient-tape-watches-leaves-that-require-a-gradient",
            "gradient-tape-nested-second-derivative",
        ),
        "start the walk from the seed, grads = {target: seed}",
    ),
    Mistake(
        "01-chain-rule",
        CHAIN_RULE,
        "the values returned as (dE/dk, dE/dv, E)",
        (("return e, de_dk, de_dv", "return de_dk, de_dv, e"),),
        ("chain-rule-gradients-values",),
        "return them as (E, dE_dk, dE_dv)",
    ),
    Mistake(
        "01-chain-rule",
        CHAIN_RULE,
        "d(M²)/dM written M² (E itself)",
        (("de_dm = 2 * m", "de_dm = m * m"),),
        ("chain-rule-gradients-values",),
        "the inner derivatives are right, the outer one is not",
    ),
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "tensor.requires_grad asked instead of is_watched(tensor)",
        (("            if is_watched(tensor):", "            if tensor.requires_grad:"),),
        ("gradient-tape-records-watched-operations", "gradient-tape-nested-second-derivative"),
        "ask is_watched(tensor), not tensor.requires_grad",
    ),
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "the loop goes over loader.dataset, one sample at a time",
        (("for inputs, targets in loader:", "for inputs, targets in loader.dataset:"),),
        ("train-one-epoch-one-epoch", "train-one-epoch-digits"),
        "loop over the loader itself",
    ),
    Mistake(
        "06-optimizers",
        SGD,
        "return inside the loop over the parameters: only the first is updated",
        (
            (
                "            param.data -= self.lr * grad\n",
                "            param.data -= self.lr * grad\n            return\n",
            ),
        ),
        ("sgd-plain", "sgd-momentum", "sgd-nesterov", "sgd-weight-decay"),
        "unchanged but changed the others",
    ),
    Mistake(
        "11-stax",
        SERIAL,
        "params extended with each layer's params (one flat list)",
        (("params.append(layer_params)", "params.extend(layer_params)"),),
        ("serial-chain", "serial-nested"),
        "the layers' params are in one flat list",
    ),
    Mistake(
        "06-optimizers",
        ADAM,
        "the second moment averages |grad|",
        (("(1 - beta2) * grad * grad", "(1 - beta2) * np.abs(grad)"),),
        ("adam-default", "adam-betas", "adam-weight-decay", "adam-decoupled"),
        "the second moment averages |grad|: it averages grad * grad",
    ),
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "the record walked first to last",
        (("for function, output in reversed(operations):", "for function, output in operations:"),),
        (
            "walk-tape-matches-grad",
            "walk-tape-skips-what-the-target-does-not-need",
            "walk-tape-with-a-tensor-seed-records-the-gradient",
            "gradient-tape-records-watched-operations",
            "gradient-tape-watches-leaves-that-require-a-gradient",
            "gradient-tape-nested-second-derivative",
        ),
        "walk_tape walks the record first to last",
    ),
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "every backward_step given the seed, not its output's gradient",
        (("backward_step(function, output, grad)", "backward_step(function, output, seed)"),),
        (
            "walk-tape-matches-grad",
            "walk-tape-skips-what-the-target-does-not-need",
            "walk-tape-with-a-tensor-seed-records-the-gradient",
            "gradient-tape-records-watched-operations",
            "gradient-tape-watches-leaves-that-require-a-gradient",
            "gradient-tape-nested-second-derivative",
        ),
        "each operation's backward_step takes the gradient of its own output, grads[output]",
    ),
    # --- A (session 4) ---
    Mistake(
        "02-modules",
        SQUARE,
        "dL/dx = np.dot(grad_output, 2x): a matrix product where the product is entry-wise",
        (("return grad_output * 2 * x", "return np.dot(grad_output, 2 * x)"),),
        ("square-gradients",),
        "where the chain rule is entry by entry",
    ),
    Mistake(
        "02-modules",
        SQUARE,
        "forward saves nothing for backward",
        (("self.save_for_backward(x)\n        return x * x", "return x * x"),),
        ("square-gradients",),
        "call self.save_for_backward(...) in forward",
    ),
    Mistake(
        "02-modules",
        MUL,
        "dL/dx = grad_output · k.grad: the gradient of k where its value belongs",
        (("return self.k.data * grad_output", "return grad_output * self.k.grad"),),
        ("mul-gradients",),
        "uses k.grad where k.data belongs",
    ),
    Mistake(
        "04-activations-losses",
        CROSS_ENTROPY,
        "the gradient averaged over the batch axis: one row for every example",
        (
            (
                "return (softmax(logits) - target_probs) / len(logits)",
                "return np.mean(softmax(logits) - target_probs, axis=0)",
            ),
        ),
        ("cross-entropy-loss-gradients",),
        "the gradient lost axis 0",
    ),
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "backward walks self.layers[-i] for i from 0: the first layer first",
        (
            (
                "for layer in reversed(self.layers):\n            grad_output = layer.backward",
                "for i in range(len(self.layers)):\n            grad_output = "
                "self.layers[-i].backward",
            ),
        ),
        ("sequential-gradients", "sequential-nested"),
        "self.layers[-i] with i = 0 is self.layers[0]",
    ),
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "forward skips the last layer: self.layers[:-1]",
        (
            (
                "for layer in self.layers:\n            x = layer(x)",
                "for layer in self.layers[:-1]:\n            x = layer(x)",
            ),
        ),
        ("sequential-forward", "sequential-gradients", "sequential-nested"),
        "every layer but the last",
    ),
    Mistake(
        "13-normalization",
        BATCH_NORM,
        "dL/dx̂ = grad_output: the factor weight (γ) is missing",
        (
            (
                "grad_x_hat = grad_output * self.per_channel(self.weight.data)",
                "grad_x_hat = grad_output",
            ),
        ),
        ("batch-norm-training-gradients", "batch-norm-eval-gradients"),
        "off by a factor equal to 'weight'",
    ),
    Mistake(
        "13-normalization",
        BATCH_NORM,
        "the bias gradient computed with the weight's formula, sum(g · x̂)",
        (
            (
                "self.bias.grad += grad_output.sum(axis=self.reduce_axes)",
                "self.bias.grad += (grad_output * x_hat).sum(axis=self.reduce_axes)",
            ),
        ),
        ("batch-norm-training-gradients", "batch-norm-eval-gradients"),
        "the true gradient of 'weight'",
    ),
    Mistake(
        "13-normalization",
        STANDARDIZE_BACKWARD,
        "mean(ĝ·x̂) with the unbiased count: a sum divided by N - 1",
        (
            (
                "mean_grad_along_x_hat = (grad_x_hat * x_hat).mean(axis=axes, keepdims=True)",
                "count = grad_x_hat.size // inv_std.size\n    mean_grad_along_x_hat = "
                "(grad_x_hat * x_hat).sum(axis=axes, keepdims=True) / (count - 1)",
            ),
        ),
        ("standardize-backward-gradients", "batch-norm-training-gradients"),
        "a factor N/(N - 1): the mean divides by N, not N - 1",
    ),
    Mistake(
        "13-normalization",
        STANDARDIZE_BACKWARD,
        "both means over every axis: .mean(keepdims=True) without axis=axes",
        (
            (
                "mean_grad = grad_x_hat.mean(axis=axes, keepdims=True)",
                "mean_grad = grad_x_hat.mean(keepdims=True)",
            ),
            (
                "(grad_x_hat * x_hat).mean(axis=axes, keepdims=True)",
                "(grad_x_hat * x_hat).mean(keepdims=True)",
            ),
        ),
        (
            "standardize-backward-gradients",
            "standardize-backward-sums-to-zero",
            "batch-norm-training-gradients",
        ),
        "the means are taken over every axis, not over `axes`",
    ),
    Mistake(
        "13-normalization",
        BATCH_NORM,
        "eval mode moves running_mean towards the batch mean after using it",
        (
            (
                "            mean, var = self.running_mean, self.running_var\n",
                "            mean, var = self.running_mean.copy(), self.running_var.copy()\n"
                "            batch_mean = x.mean(axis=self.reduce_axes)\n"
                "            self.running_mean[...] = 0.9 * self.running_mean + 0.1 * batch_mean\n",
            ),
        ),
        ("batch-norm-eval-forward", "batch-norm-eval-gradients"),
        "forward in eval mode changed the running statistics",
    ),
    Mistake(
        "03-linear",
        LINEAR,
        "grad_output flattened with in_features: reshape(-1, self.in_features)",
        (
            (
                "grad_rows = grad_output.reshape(-1, self.out_features)",
                "grad_rows = grad_output.reshape(-1, self.in_features)",
            ),
        ),
        ("linear-gradients", "linear-batch-axes", "linear-no-bias"),
        "backward reshapes grad_output",
    ),
    Mistake(
        "03-linear",
        LINEAR,
        "dL/dx = (W gᵀ)ᵀ: .T of a 3-d grad_output reverses the batch axes too",
        (
            (
                "return grad_output @ self.weight.data.T",
                "return (self.weight.data @ grad_output.T).T",
            ),
        ),
        ("linear-batch-axes",),
        ".T reverses every axis of an array of 3 axes or more",
    ),
    Mistake(
        "12-convolutions",
        CONV2D,
        "backward's grad_rows from grad_output.transpose(0, 3, 2, 1): H' and W' swapped",
        (
            (
                "grad_output.transpose(0, 2, 3, 1).reshape(-1, c_out)",
                "grad_output.transpose(0, 3, 2, 1).reshape(-1, c_out)",
            ),
        ),
        ("conv2d-gradients", "conv2d-first-layer"),
        "into rows as .transpose(0, 3, 2, 1)",
    ),
    Mistake(
        "03-linear",
        LINEAR,
        "the bias gradient sums the input x over its leading axes, not grad_output",
        (
            (
                "self.bias.grad += grad_rows.sum(axis=0)",
                "self.bias.grad += x.sum(axis=tuple(range(x.ndim - 1)))",
            ),
        ),
        ("linear-gradients", "linear-batch-axes"),
        "the input x",
    ),
    Mistake(
        "10-autograd",
        MATMUL,
        "Matmul's gradients by np.dot: right for matrices, wrong for stacks of them",
        (
            (
                "grad_a = grad @ np.swapaxes(b, -1, -2)",
                "grad_a = np.dot(grad, np.swapaxes(b, -1, -2))",
            ),
            (
                "grad_b = np.swapaxes(a, -1, -2) @ grad",
                "grad_b = np.dot(np.swapaxes(a, -1, -2), grad)",
            ),
        ),
        ("matmul-batch-axes",),
        "right for matrices but not for stacks of them",
    ),
    Mistake(
        "10-autograd",
        UNBROADCAST,
        "the early return tests the number of axes, not the shape",
        (("if grad.shape == shape:", "if grad.ndim == len(shape):"),),
        (
            "unbroadcast-stretched-axes",
            "unbroadcast-any-shapes",
            "mul-broadcasting",
            "matmul-batch-axes",
        ),
        "unbroadcast returned grad as it is",
    ),
    Mistake(
        "02-modules",
        SQUARE,
        "backward returns (dL/dx, None), as a Function's backward would",
        (("return grad_output * 2 * x", "return grad_output * 2 * x, None"),),
        ("square-gradients",),
        "a module's backward returns one array",
    ),
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "backward counts down from len(self.layers): one past the last index",
        (
            (
                "for layer in reversed(self.layers):\n            grad_output = layer.backward",
                "for i in range(len(self.layers), 0, -1):\n            grad_output = "
                "self.layers[i].backward",
            ),
        ),
        ("sequential-gradients", "sequential-nested"),
        "backward indexes self.layers out of range",
    ),
    Mistake(
        "04-activations-losses",
        SIGMOID,
        "σ(x) as (1 + tanh(x)) / 2: the argument of tanh not halved",
        (("y = sigmoid(x)", "y = (1 + np.tanh(x)) / 2"),),
        ("sigmoid-forward", "sigmoid-gradients"),
        "with x replaced by 2x",
    ),
    Mistake(
        "13-normalization",
        BATCH_NORM,
        "backward uses the training formula in eval mode too",
        (
            (
                "        if batch_statistics:  # the mean and variance depend on x too\n"
                "            return standardize_backward(grad_x_hat, x_hat, inv_std, self.reduce_axes)\n"
                "        return grad_x_hat * inv_std\n",
                "        return standardize_backward(grad_x_hat, x_hat, inv_std, self.reduce_axes)\n",
            ),
        ),
        ("batch-norm-eval-gradients",),
        "in eval mode the running statistics are constants",
    ),
    Mistake(
        "02-modules",
        MUL,
        "dL/dk summed with keepdims=True: an array of ones' shape for a scalar",
        (
            (
                "self.k.grad += np.sum(grad_output * x)",
                "self.k.grad += (grad_output * x).sum(keepdims=True)",
            ),
        ),
        ("mul-gradients",),
        "a sum with keepdims=True",
    ),
    Mistake(
        "12-convolutions",
        MAX_POOL2D,
        "the winners multiplied by grad_output in (N, C, H', W'), not channels-last",
        (("is_winner * grad_output.transpose(0, 2, 3, 1)", "is_winner * grad_output"),),
        ("max-pool2d-gradients", "max-pool2d-ties"),
        "lines up with the other after .transpose(0, 2, 3, 1)",
    ),
    # --- lead (session 4): probe 8's full-marks answer ---
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "a Sigmoid after the last Linear layer (the Softmax replaced by a Sigmoid)",
        (
            (
                "    model = Sequential(Linear(64, 64, rng=rng), ReLU(), Linear(64, 10, rng=rng))",
                "    from pancake.nn import Sigmoid\n\n"
                "    model = Sequential(\n"
                "        Linear(64, 64, rng=rng), ReLU(), Linear(64, 10, rng=rng), Sigmoid()\n"
                "    )",
            ),
        ),
        ("train-digits-outputs-are-logits",),
        "squashes or clips them",
    ),
    # --- A (session 5) ---
    Mistake(
        "01-chain-rule",
        NUMERICAL_GRADIENT,
        "the difference divided by 2, not by 2·eps",
        (("(f_plus - f_minus) / (2 * eps)", "(f_plus - f_minus) / 2"),),
        ("numerical-gradient-vectors", "numerical-gradient-any-shape"),
        "divided by 2 but not by eps",
    ),
    Mistake(
        "01-chain-rule",
        NUMERICAL_GRADIENT,
        "f(x + eps) and f(x - eps) added instead of subtracted",
        (("(f_plus - f_minus) / (2 * eps)", "(f_plus + f_minus) / (2 * eps)"),),
        ("numerical-gradient-vectors", "numerical-gradient-any-shape"),
        "the two values are added",
    ),
    Mistake(
        "01-chain-rule",
        NUMERICAL_GRADIENT,
        "the upper point sets the entry to eps itself (x[index] = eps)",
        (("x[index] = original + eps", "x[index] = eps"),),
        ("numerical-gradient-vectors", "numerical-gradient-any-shape"),
        "that is ±eps itself",
    ),
    Mistake(
        "01-chain-rule",
        CHAIN_RULE,
        "dE/dv by adding the local derivatives: de_dm + k",
        (("de_dv = de_dm * k", "de_dv = de_dm + k"),),
        ("chain-rule-gradients-values",),
        "the chain rule multiplies them",
    ),
    Mistake(
        "03-linear",
        LINEAR,
        "the bias gradient added to weight.grad as well (bias.grad still right)",
        (
            (
                "self.weight.grad += rows.T @ grad_rows",
                "self.weight.grad += rows.T @ grad_rows + grad_rows.sum(axis=0)",
            ),
        ),
        ("linear-gradients", "linear-batch-axes", "linear-no-bias"),
        "the true gradient of 'bias'",
    ),
    Mistake(
        "03-linear",
        LINEAR,
        "the input gradient subtracts the bias: grad_output @ W.T - b",
        (
            (
                "return grad_output @ self.weight.data.T",
                "return grad_output @ self.weight.data.T - self.bias.data",
            ),
        ),
        ("linear-gradients", "linear-batch-axes", "linear-no-bias"),
        "the true one minus 'bias' itself",
    ),
    Mistake(
        "03-linear",
        LINEAR,
        "weight gradient by np.outer of the flattened rows (the one-example formula)",
        (
            (
                "self.weight.grad += rows.T @ grad_rows",
                "self.weight.grad += np.outer(rows, grad_rows)",
            ),
        ),
        ("linear-gradients", "linear-batch-axes", "linear-no-bias"),
        "what np.outer gives",
    ),
    Mistake(
        "10-autograd",
        UNBROADCAST,
        "the added axes summed one call at a time by their index in grad (the axes shift)",
        (
            (
                "grad = grad.sum(axis=added_axes)",
                "for axis in added_axes:\n        grad = grad.sum(axis=axis)",
            ),
        ),
        ("unbroadcast-any-shapes", "unbroadcast-leading-axes", "mul-broadcasting"),
        "the axis numbers shift after each sum",
    ),
    Mistake(
        "13-normalization",
        BATCH_NORM,
        "the unbiased correction counts every value of the batch, count = x.size",
        (("count = x.size // self.num_features", "count = x.size"),),
        ("batch-norm-running-statistics",),
        "but each channel has n =",
    ),
    Mistake(
        "04-activations-losses",
        CROSS_ENTROPY,
        "backward returns dL/dp = -target / softmax (the derivative over the probabilities)",
        (
            (
                "return (softmax(logits) - target_probs) / len(logits)",
                "return -target_probs / softmax(logits) / len(logits)",
            ),
        ),
        ("cross-entropy-loss-gradients", "cross-entropy-loss-large-logits"),
        "the derivative with respect to the probabilities",
    ),
    Mistake(
        "03-linear",
        LINEAR,
        "the rows of x reshaped to (in_features, -1) where they must be transposed",
        (
            (
                "self.weight.grad += rows.T @ grad_rows",
                "self.weight.grad += rows.reshape(self.in_features, -1) @ grad_rows",
            ),
        ),
        ("linear-gradients", "linear-batch-axes", "linear-no-bias"),
        "so it is no transpose",
    ),
    # --- B (session 5) ---
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "forward applies each layer to the model's input x: `h = layer(x)`, h returned",
        (
            (
                "        for layer in self.layers:\n            x = layer(x)\n        return x",
                "        h = x\n        for layer in self.layers:\n            h = layer(x)\n        return h",
            ),
        ),
        ("sequential-forward", "sequential-gradients", "sequential-nested"),
        "the model's input x, not module 0's output",
    ),
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "backward starts by zeroing the gradients: self.zero_grad()",
        (
            (
                "        for layer in reversed(self.layers):\n            grad_output = layer.backward",
                "        self.zero_grad()\n"
                "        for layer in reversed(self.layers):\n            grad_output = layer.backward",
            ),
        ),
        ("sequential-gradients", "sequential-nested"),
        "backward calls zero_grad()",
    ),
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "backward runs the last layer's backward, then every layer's in the reversed loop",
        (
            (
                "        for layer in reversed(self.layers):\n            grad_output = layer.backward",
                "        grad_output = self.layers[-1].backward(grad_output)\n"
                "        for layer in reversed(self.layers):\n            grad_output = layer.backward",
            ),
        ),
        ("sequential-gradients", "sequential-nested"),
        "backward more than once",
    ),
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "backward calls layer(grad_output), a forward pass, instead of layer.backward",
        (
            (
                "            grad_output = layer.backward(grad_output)",
                "            grad_output = layer(grad_output)",
            ),
        ),
        ("sequential-gradients", "sequential-nested"),
        "layer(grad_output) is a forward pass",
    ),
    Mistake(
        "07-data",
        DATA_LOADER,
        "the order is a permutation of n - 1 indices: the last sample never comes",
        (
            (
                "order = self.rng.permutation(n) if self.shuffle else np.arange(n)",
                "order = self.rng.permutation(n - 1) if self.shuffle else np.arange(n - 1)",
            ),
        ),
        ("data-loader-epochs",),
        "(n - 1 leaves out the last",
    ),
    Mistake(
        "07-data",
        DATA_LOADER,
        "the order shuffled in place again before every batch (rng.shuffle inside the loop)",
        (
            (
                "        order = self.rng.permutation(n) if self.shuffle else np.arange(n)\n"
                "        for start in range(0, n, self.batch_size):\n",
                "        order = np.arange(n)\n"
                "        for start in range(0, n, self.batch_size):\n"
                "            if self.shuffle:\n"
                "                self.rng.shuffle(order)\n",
            ),
        ),
        ("data-loader-epochs",),
        "permutations from self.rng, one per batch",
    ),
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "the sample count set to each batch's size (targets.shape[0]), not added up",
        (("total_samples += len(targets)", "total_samples = targets.shape[0]"),),
        ("train-one-epoch-one-epoch",),
        "total_samples += len(targets) (not =)",
    ),
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "loss.detach() as in PyTorch (the loss is a plain float)",
        (("total_loss += loss * len(targets)", "total_loss += loss.detach() * len(targets)"),),
        ("train-one-epoch-digits", "train-one-epoch-one-epoch"),
        "a PyTorch habit",
    ),
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "each input gets grads[output], the output's gradient, not its own",
        (
            (
                "add_gradient(grads, tensor, tensor_grad)",
                "add_gradient(grads, tensor, grads[output])",
            ),
        ),
        (
            "gradient-tape-nested-second-derivative",
            "gradient-tape-records-watched-operations",
            "gradient-tape-watches-leaves-that-require-a-gradient",
            "walk-tape-matches-grad",
            "walk-tape-skips-what-the-target-does-not-need",
            "walk-tape-with-a-tensor-seed-records-the-gradient",
        ),
        "walk_tape passes each output's gradient on unchanged",
    ),
    Mistake(
        "14-tapes",
        GRADIENT_TAPE,
        "record watches every output, before it tests the inputs",
        (
            (
                "        if any(self.is_watched(tensor) for tensor in function.inputs):\n"
                "            self.operations.append((function, output))\n"
                "            self.watched.add(output)",
                "        self.watched.add(output)\n"
                "        if any(self.is_watched(tensor) for tensor in function.inputs):\n"
                "            self.operations.append((function, output))",
            ),
        ),
        ("gradient-tape-records-watched-operations",),
        "self.watched.add(output) inside the if",
    ),
    Mistake(
        "14-tapes",
        GRADIENT_TAPE,
        "record prepends each operation: operations = [(function, output)] + operations",
        (
            (
                "self.operations.append((function, output))",
                "self.operations = [(function, output)] + self.operations",
            ),
        ),
        (
            "gradient-tape-nested-second-derivative",
            "gradient-tape-records-watched-operations",
            "gradient-tape-watches-leaves-that-require-a-gradient",
        ),
        "the tape holds the operations newest first",
    ),
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "validation pairs the validation images with the training labels",
        (("(X_val, y_val)", "(X_val, y_train)"),),
        (
            "train-digits-accuracy",
            "train-digits-fresh-gradients",
            "train-digits-labels-follow-images",
            "train-digits-outputs-are-logits",
            "train-digits-validation-data",
        ),
        "pair each set of inputs with its own labels",
    ),
    Mistake(
        "11-stax",
        SERIAL,
        "apply_fun calls each layer as layer_apply(inputs, layer_params), inputs first",
        (
            (
                "inputs = layer_apply(layer_params, inputs)",
                "inputs = layer_apply(inputs, layer_params)",
            ),
        ),
        ("serial-chain", "serial-nested"),
        "was called with (inputs, params)",
    ),
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "forward starts the chain from the first module itself, not from x",
        (
            (
                "        for layer in self.layers:\n            x = layer(x)\n        return x",
                "        out = self.layers[0]\n        for layer in self.layers[1:]:\n"
                "            out = layer(out)\n        return out",
            ),
        ),
        ("sequential-forward", "sequential-gradients", "sequential-nested"),
        "a module, Linear(",
    ),
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "the validation data passed to evaluate as two arguments, X_val, y_val",
        (("(X_val, y_val)", "X_val, y_val"),),
        (
            "train-digits-accuracy",
            "train-digits-fresh-gradients",
            "train-digits-labels-follow-images",
            "train-digits-outputs-are-logits",
            "train-digits-validation-data",
        ),
        "the pair (X, y) in parentheses",
    ),
]
MISTAKES += HINTED_MISTAKES

# Wrong answers that scored full marks in probe 9, each caught now (another instance of
# each idea than the probe's, which stays unseen).
LEAD_MISTAKES = [
    Mistake(
        "04-activations-losses",
        RELU,
        "backward zeroes grad_output in place where x <= 0 and returns it",
        (
            (
                "        return grad_output * (x > 0)",
                "        grad_output[x <= 0] = 0\n        return grad_output",
            ),
        ),
        ("relu-gradients",),
        "backward changed grad_output in place",
    ),
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "the last layer has 16 outputs (Linear(64, 16)), not one per class",
        (("Linear(64, 10, rng=rng))", "Linear(64, 16, rng=rng))"),),
        ("train-digits-outputs-are-logits",),
        "one logit per digit class",
    ),
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "an output without a gradient gets zeros instead of being skipped",
        (
            (
                "        grad = grads.get(output)\n"
                "        if grad is None:  # the target does not depend on this operation\n"
                "            continue\n",
                "        grad = grads.get(output, output.data * 0.0)\n",
            ),
        ),
        ("walk-tape-skips-what-the-target-does-not-need",),
        "rather than giving it a zero gradient",
    ),
]
LEAD_MISTAKES += [  # session 5: a Sequential.backward that does not pass each result on
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "backward adds each module's result to grad_output instead of passing it on",
        (
            (
                "grad_output = layer.backward(grad_output)",
                "grad_output = grad_output + layer.backward(grad_output)",
            ),
        ),
        ("sequential-gradients", "sequential-nested"),
        "pass each result on as it is",
    ),
]
MISTAKES += LEAD_MISTAKES

# Session 6: one instance of each family of diagnosis built from the probes' misses.
FAMILY_MISTAKES = [
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "the learning rate scaled up by hand (lr = lr * 100)",
        (
            (
                "    rng = np.random.default_rng(seed)\n",
                "    rng = np.random.default_rng(seed)\n    lr = lr * 100\n",
            ),
        ),
        ("train-digits-accuracy",),
        "the steps are too large",
    ),
    Mistake(
        "06-optimizers",
        ADAM,
        "the step count grows only when the state is made: t stays 1",
        (
            (
                '                state["exp_avg_sq"] = np.zeros_like(param.data)\n'
                '            state["step"] += 1\n',
                '                state["exp_avg_sq"] = np.zeros_like(param.data)\n'
                '                state["step"] += 1\n',
            ),
        ),
        ("adam-default", "adam-betas", "adam-weight-decay", "adam-decoupled"),
        "as if t were 1 at every step",
    ),
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "backward_step given the gradient before the output",
        (("backward_step(function, output, grad)", "backward_step(function, grad, output)"),),
        (
            "walk-tape-matches-grad",
            "walk-tape-skips-what-the-target-does-not-need",
            "walk-tape-with-a-tensor-seed-records-the-gradient",
            "gradient-tape-records-watched-operations",
            "gradient-tape-watches-leaves-that-require-a-gradient",
            "gradient-tape-nested-second-derivative",
        ),
        "the arguments are (function, output, grad)",
    ),
    Mistake(
        "10-autograd",
        AG_TANH,
        "backward divides by the derivative, grad / (1 - y * y)",
        (("return grad * (1 - y * y)", "return grad / (1 - y * y)"),),
        ("tanh-gradients",),
        "divides grad_output by the local derivative",
    ),
    Mistake(
        "04-activations-losses",
        SIGMOID,
        "grad_output inside the derivative: y * (1 - grad_output)",
        (("return grad_output * y * (1 - y)", "return grad_output * y * (1 - grad_output)"),),
        ("sigmoid-gradients",),
        "grows with the square of grad_output",
    ),
    Mistake(
        "13-normalization",
        BATCH_NORM,
        "eval mode's backward without the division by the running standard deviation",
        (("        return grad_x_hat * inv_std\n", "        return grad_x_hat\n"),),
        ("batch-norm-eval-gradients",),
        "times √(running_var + eps)",
    ),
    Mistake(
        "11-stax",
        SERIAL,
        "apply_fun pairs the layers with the params last layer first",
        (
            (
                "zip(apply_funs, params, strict=True)",
                "zip(apply_funs, reversed(params), strict=True)",
            ),
        ),
        ("serial-chain", "serial-nested"),
        "got params[1], the params of layer 1",
    ),
]
MISTAKES += FAMILY_MISTAKES

# Session 7: families from probe 11's misses (other instances than the probe's answers).
FAMILY_MISTAKES_7 = [
    Mistake(
        "01-chain-rule",
        CHAIN_RULE,
        "dE/dM as 2·|M|: the sign of M is lost",
        (("de_dm = 2 * m", "de_dm = 2 * abs(m)"),),
        ("chain-rule-gradients-values",),
        "√E (or abs) loses M's sign",
    ),
    Mistake(
        "04-activations-losses",
        CROSS_ENTROPY,
        "returns each example's loss, not their mean",
        (
            (
                "return float(-np.sum(target_probs * log_softmax(logits)) / len(logits))",
                "return -np.sum(target_probs * log_softmax(logits), axis=1)",
            ),
        ),
        (
            "cross-entropy-loss-forward",
            "cross-entropy-loss-gradients",
            "cross-entropy-loss-large-logits",
        ),
        "the loss has one entry per example",
    ),
    Mistake(
        "06-optimizers",
        SGD,
        "momentum and 1 - dampening swapped in the buffer's update",
        (
            (
                'buffer = self.momentum * state["momentum_buffer"] + (1 - self.dampening) * grad',
                'buffer = (1 - self.dampening) * state["momentum_buffer"] + self.momentum * grad',
            ),
        ),
        ("sgd-momentum", "sgd-nesterov", "sgd-weight-decay"),
        "it should be momentum · buffer + (1 - dampening) · grad",
    ),
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "the images shuffled with np.take without axis=0",
        (
            (
                "X_train, y_train = X_train[order], y_train[order]",
                "X_train, y_train = np.take(X_train, order), y_train[order]",
            ),
        ),
        (
            "train-digits-accuracy",
            "train-digits-fresh-gradients",
            "train-digits-labels-follow-images",
            "train-digits-outputs-are-logits",
            "train-digits-validation-data",
        ),
        "calls take without axis=",
    ),
    Mistake(
        "10-autograd",
        AG_SUM,
        "keepdims_shape given its arguments in the other order",
        (
            (
                "keepdims_shape(self.input_shape, self.axis)",
                "keepdims_shape(self.axis, self.input_shape)",
            ),
        ),
        ("sum-all-axes", "sum-axis"),
        "this was raised inside pancake's `keepdims_shape` with shape =",
    ),
]
FAMILY_MISTAKES_7 += [  # from the lead's own answers (session 7)
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "the epoch's loss adds up batch means: total_loss += loss",
        (("total_loss += loss * len(targets)", "total_loss += loss"),),
        ("train-digits-labels-follow-images",),
        "32 (the batch size) times too small",
    ),
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "the optimizer is given the first layer's parameters only",
        (
            (
                "optimizer = SGD(model.parameters(), lr=lr, momentum=0.9)",
                "optimizer = SGD(model.layers[0].parameters(), lr=lr, momentum=0.9)",
            ),
        ),
        ("train-digits-fresh-gradients",),
        "zero_grad resets only the parameters it was given",
    ),
    Mistake(
        "10-autograd",
        UNBROADCAST,
        "the added axes summed with keepdims=True",
        (("grad = grad.sum(axis=added_axes)", "grad = grad.sum(axis=added_axes, keepdims=True)"),),
        (
            "matmul-batch-axes",
            "mul-broadcasting",
            "unbroadcast-any-shapes",
            "unbroadcast-leading-axes",
        ),
        "the added leading axes are summed with keepdims=True",
    ),
]
FAMILY_MISTAKES_7 += [
    Mistake(
        "04-activations-losses",
        CROSS_ENTROPY,
        "the probabilities clipped before their log: np.log(np.clip(p, 1e-10, 1))",
        (
            (
                "log_softmax(logits)) / len(logits))",
                "np.log(np.clip(softmax(logits), 1e-10, 1))) / len(logits))",
            ),
        ),
        (
            "cross-entropy-loss-forward",
            "cross-entropy-loss-gradients",
            "cross-entropy-loss-large-logits",
        ),
        "the log-probabilities are cut off",
    ),
    Mistake(
        "06-optimizers",
        ADAM,
        "the first moment's bias correction 1 - beta1 * t",
        (
            (
                'exp_avg_hat = state["exp_avg"] / (1 - beta1 ** state["step"])',
                'exp_avg_hat = state["exp_avg"] / (1 - beta1 * state["step"])',
            ),
        ),
        ("adam-betas", "adam-decoupled", "adam-default", "adam-weight-decay"),
        "m is divided by 1 - β·t, β times t",
    ),
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "optimizer.step() before model.backward",
        (
            (
                "            model.backward(loss_fn.backward())\n            optimizer.step()\n",
                "            optimizer.step()\n            model.backward(loss_fn.backward())\n",
            ),
        ),
        ("train-digits-accuracy",),
        "every weight is still exactly as initialised",
    ),
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "the history recorded after every batch",
        (
            (
                "            total_loss += loss * len(targets)\n",
                "            total_loss += loss * len(targets)\n"
                '            history.record({"loss": total_loss / len(X_train)}, '
                "evaluate(model, loss_fn, (X_val, y_val)))\n",
            ),
            ('        history.record({"loss": total_loss / len(X_train)}, val_results)\n', ""),
        ),
        ("train-digits-labels-follow-images",),
        "one epoch recorded 3 training losses in the history",
    ),
]
FAMILY_MISTAKES_7 += [
    Mistake(
        "04-activations-losses",
        RELU,
        "forward zeroes the negative entries of x in place",
        (("return np.maximum(x, 0)", "x *= x > 0\n        return x"),),
        ("relu-gradients",),
        "modified its input array in place",
    ),
    Mistake(
        "06-optimizers",
        ADAM,
        "the moments updated into local names, never stored in the state",
        (
            (
                '            state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * grad\n'
                '            state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad * grad\n',
                '            m, v = state["exp_avg"], state["exp_avg_sq"]\n'
                "            m = beta1 * m + (1 - beta1) * grad\n"
                "            v = beta2 * v + (1 - beta2) * grad * grad\n",
            ),
            ('exp_avg_hat = state["exp_avg"] /', "exp_avg_hat = m /"),
            ('exp_avg_sq_hat = state["exp_avg_sq"] /', "exp_avg_sq_hat = v /"),
        ),
        ("adam-betas", "adam-decoupled", "adam-default", "adam-weight-decay"),
        "are still all zero after 2 steps",
    ),
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "optimizer.zero_grad named without its call",
        (("            optimizer.zero_grad()\n", "            optimizer.zero_grad\n"),),
        ("train-digits-accuracy", "train-digits-fresh-gradients"),
        "`optimizer.zero_grad` does nothing: it names a method",
    ),
    Mistake(
        "10-autograd",
        AG_SUM,
        "np.expand_dims(grad, self.axis), which axis=None breaks",
        (
            (
                "grad = grad.reshape(keepdims_shape(self.input_shape, self.axis))",
                "grad = np.expand_dims(grad, self.axis)",
            ),
        ),
        ("sum-all-axes", "sum-axis"),
        "axis=None means every axis and is not an axis number",
    ),
]
FAMILY_MISTAKES_7 += [
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "the batches stop one short: range(0, len(X_train) - 32, 32)",
        (
            (
                "for start in range(0, len(X_train), 32):",
                "for start in range(0, len(X_train) - 32, 32):",
            ),
        ),
        ("train-digits-labels-follow-images",),
        "the epoch trained on 64 of the 96 samples",
    ),
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "the loss value passed to model.backward",
        (("model.backward(loss_fn.backward())", "model.backward(loss)"),),
        (
            "train-digits-accuracy",
            "train-digits-fresh-gradients",
            "train-digits-labels-follow-images",
            "train-digits-outputs-are-logits",
            "train-digits-validation-data",
        ),
        "the loss value is not its gradient",
    ),
]
FAMILY_MISTAKES_7 += [  # habits from PyTorch
    Mistake(
        "06-optimizers",
        SGD,
        "loops over self.param_groups, as in PyTorch",
        (
            (
                "        for param, state in self.params_with_grad():\n",
                "        for group in self.param_groups:\n"
                "            pass\n"
                "        for param, state in self.params_with_grad():\n",
            ),
        ),
        ("sgd-momentum", "sgd-nesterov", "sgd-plain", "sgd-weight-decay"),
        "pancake's optimizers keep no param_groups",
    ),
    Mistake(
        "10-autograd",
        MATMUL,
        "PyTorch's transpose(-1, -2) of two axes",
        (
            ("grad_a = grad @ np.swapaxes(b, -1, -2)", "grad_a = grad @ b.transpose(-1, -2)"),
            ("grad_b = np.swapaxes(a, -1, -2) @ grad", "grad_b = a.transpose(-1, -2) @ grad"),
        ),
        ("matmul-batch-axes",),
        "not two axes to swap as PyTorch's",
    ),
    Mistake(
        "09-debugging",
        TRAIN_DIGITS,
        "the evaluation wrapped in torch.no_grad()",
        (
            (
                "        val_results = evaluate(model, loss_fn, (X_val, y_val))\n",
                "        with torch.no_grad():\n"
                "            val_results = evaluate(model, loss_fn, (X_val, y_val))\n",
            ),
        ),
        (
            "train-digits-accuracy",
            "train-digits-fresh-gradients",
            "train-digits-labels-follow-images",
            "train-digits-outputs-are-logits",
            "train-digits-validation-data",
        ),
        "there is no torch here",
    ),
]
FAMILY_MISTAKES_7 += [
    Mistake(
        "03-linear",
        LINEAR,
        "forward on x flattened to rows, the output left flat",
        (
            (
                "output = x @ self.weight.data",
                "output = x.reshape(-1, self.in_features) @ self.weight.data",
            ),
        ),
        ("linear-batch-axes",),
        "the leading axes were flattened into rows and not put back",
    ),
]
MISTAKES += FAMILY_MISTAKES_7

# An endless loop in Mul.backward (the index is never incremented): only the graded test
# that runs backward may lose its points, after the time limit; the rest is graded.
ENDLESS_LOOP = Mistake(
    "02-modules",
    MUL,
    "a while loop that never ends",
    (
        (
            "self.k.grad += np.sum(grad_output * x)",
            "products, total, i = (grad_output * x).ravel(), 0.0, 0\n"
            "        while i < products.size:\n"
            "            total += products[i]\n"
            "        self.k.grad += total",
        ),
    ),
    ("mul-gradients",),
    "time limit of 10 s",
)


@dataclass(frozen=True)
class Tamper:
    """``edit`` changes a released notebook in place; every test of ``assignment`` must score 0."""

    assignment: str
    description: str
    edit: Callable[[nbformat.NotebookNode], None]


def answer_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("solution")]


def graded_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade")]


def append_to_first_answer(code: str) -> Callable[[nbformat.NotebookNode], None]:
    def edit(notebook: nbformat.NotebookNode) -> None:
        answer_cells(notebook)[0].source += "\n\n" + code

    return edit


def rewrite_graded_cells(notebook: nbformat.NotebookNode) -> None:
    """Replace each graded test by a pass, give it 100 points, and delete the last one."""
    for cell in graded_cells(notebook):
        cell.source = "print('all tests passed')"
        cell.metadata["nbgrader"]["points"] = 100
        cell.metadata["editable"] = True
    notebook.cells.remove(graded_cells(notebook)[-1])


TAMPERS = [
    Tamper(
        "03-linear",
        "rebinds the checks in the notebook",
        append_to_first_answer(
            "check_gradients = check_values = lambda *args, **kwargs: None\n"
            "given = lambda *args, **kwargs: (lambda test: (lambda *a, **k: None))"
        ),
    ),
    Tamper(
        "02-modules",
        "monkeypatches pancake.testing, pancake.testing.values and hypothesis",
        append_to_first_answer(
            "import hypothesis\n"
            "import pancake.testing.values\n"
            "import pancake.testing\n"
            "import pancake.testing.gradcheck\n"
            "\n"
            "def _passes(*args, **kwargs):\n"
            "    return None\n"
            "\n"
            "pancake.testing.check_gradients = pancake.testing.gradcheck.check_gradients = _passes\n"
            "pancake.testing.values.check_values = pancake.testing.check_values = _passes\n"
            "hypothesis.given = lambda *args, **kwargs: (lambda test: _passes)"
        ),
    ),
    Tamper(
        "04-activations-losses",
        "silences errors and tracebacks",
        append_to_first_answer(
            "import builtins\n"
            "import sys\n"
            "\n"
            "ipython = get_ipython()\n"
            'ipython.run_line_magic("xmode", "Minimal")\n'
            "ipython.showtraceback = lambda *args, **kwargs: None\n"
            "ipython.set_custom_exc((BaseException,), lambda *args, **kwargs: None)\n"
            "sys.excepthook = lambda *args: None\n"
            "builtins.print = lambda *args, **kwargs: None\n"
            "builtins.AssertionError = builtins.NotImplementedError = type('Quiet', (Exception,), {})"
        ),
    ),
    Tamper("05-sequential", "rewrites and deletes the graded test cells", rewrite_graded_cells),
]

# --- forward values (session 6) ---
# Wrong forward values named by a family of pancake.testing.forward (or the Conv2d
# check's), each confirmed on a generic input: a copy of the module run again.
FORWARD_VALUE_MISTAKES = [
    Mistake(
        "13-normalization",
        BATCH_NORM,
        "eps added after the square root, by hand",
        (
            (
                "x_hat, inv_std = standardize(x, self.per_channel(mean), self.per_channel(var), "
                "self.eps)",
                "inv_std = 1 / (np.sqrt(self.per_channel(var)) + self.eps)\n"
                "        x_hat = (x - self.per_channel(mean)) * inv_std",
            ),
        ),
        (
            "batch-norm-eval-forward",
            "batch-norm-eval-gradients",
            "batch-norm-training-forward",
            "batch-norm-training-gradients",
        ),
        "eps inside the square root",
    ),
    Mistake(
        "04-activations-losses",
        RELU,
        "a leaky ReLU, max(x, 0.01 x), where ReLU belongs",
        (("return np.maximum(x, 0)", "return np.maximum(x, 0.01 * x)"),),
        ("relu-forward", "relu-gradients"),
        "wrong where x < 0, where it is 0.01·x",
    ),
    Mistake(
        "02-modules",
        SQUARE,
        "x times its absolute value",
        (("return x * x", "return x * np.abs(x)"),),
        ("square-forward", "square-gradients"),
        "the expected value negated (-x²)",
    ),
    Mistake(
        "03-linear",
        LINEAR,
        "the bias added twice",
        (("output = output + self.bias.data", "output = output + 2 * self.bias.data"),),
        ("linear-batch-axes", "linear-forward", "linear-gradients"),
        "the bias is added twice",
    ),
    Mistake(
        "12-convolutions",
        CONV2D,
        "the input copied to the bottom-right corner of the padded buffer",
        (("padded[:, ph : ph + height, pw : pw + width]", "padded[:, 2 * ph :, 2 * pw :]"),),
        ("conv2d-first-layer", "conv2d-forward", "conv2d-gradients"),
        "put it in the middle, [ph : ph + height, pw : pw + width]",
    ),
]
MISTAKES += FORWARD_VALUE_MISTAKES

# Session 7: families from probe 11's misses (tapes, training steps, Linear, BatchNorm).
WALK_MISTAKES = [
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "the record walked as operations[:0:-1]: the first operation never walked",
        (("in reversed(operations):", "in operations[:0:-1]:"),),
        (
            "walk-tape-matches-grad",
            "walk-tape-skips-what-the-target-does-not-need",
            "walk-tape-with-a-tensor-seed-records-the-gradient",
            "gradient-tape-records-watched-operations",
            "gradient-tape-watches-leaves-that-require-a-gradient",
            "gradient-tape-nested-second-derivative",
        ),
        "never walks the first recorded operation",
    ),
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "the record walked as operations[-2::-1]: the last operation never walked",
        (("in reversed(operations):", "in operations[-2::-1]:"),),
        (
            "walk-tape-matches-grad",
            "walk-tape-with-a-tensor-seed-records-the-gradient",
            "gradient-tape-records-watched-operations",
            "gradient-tape-watches-leaves-that-require-a-gradient",
            "gradient-tape-nested-second-derivative",
        ),
        "never walks the last recorded operation",
    ),
]
MISTAKES += WALK_MISTAKES

# Which batches the steps of an epoch trained, from spies on the optimizer's steps.
BATCHES_MISTAKES = [
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "each step takes inputs, targets = next(iter(loader)): always the first batch",
        (
            (
                "    for inputs, targets in loader:\n",
                "    for step in range(len(loader)):\n"
                "        inputs, targets = next(iter(loader))\n",
            ),
        ),
        ("train-one-epoch-one-epoch",),
        "every step trained batch 0, the loader's first",
    ),
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "the batches listed and trained up to len(loader) - 1: the last batch never trained",
        (
            (
                "    for inputs, targets in loader:\n",
                "    batches = list(loader)\n"
                "    for i in range(len(batches) - 1):\n"
                "        inputs, targets = batches[i]\n",
            ),
        ),
        ("train-one-epoch-one-epoch",),
        "was never trained",
    ),
]
BATCHES_MISTAKES += [
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "optimizer.zero_grad without parentheses: the method named, never called",
        (("optimizer.zero_grad()", "optimizer.zero_grad"),),
        ("train-one-epoch-one-epoch", "train-one-epoch-digits"),
        "optimizer.zero_grad is written without parentheses",
    ),
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "loss_fn.backward(loss): the loss's backward given the loss value",
        (("model.backward(loss_fn.backward())", "model.backward(loss_fn.backward(loss))"),),
        ("train-one-epoch-one-epoch", "train-one-epoch-digits"),
        "loss_fn.backward() takes no argument",
    ),
]
BATCHES_MISTAKES += [
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "the epoch's loss from a second pass over the loader, after training",
        (
            (
                "        total_loss += loss * len(targets)\n        total_samples += len(targets)\n",
                "",
            ),
            (
                "    return total_loss / total_samples",
                "    for inputs, targets in loader:\n"
                "        total_loss += loss_fn(model(inputs), targets) * len(targets)\n"
                "        total_samples += len(targets)\n"
                "    return total_loss / total_samples",
            ),
        ),
        ("train-one-epoch-one-epoch",),
        "the loop went over the loader 2 times in one epoch",
    ),
]
MISTAKES += BATCHES_MISTAKES

# A Linear's parameter gradient from part of the batch, or of a grad_output left unflattened.
LINEAR_BATCH_MISTAKES = [
    Mistake(
        "03-linear",
        LINEAR,
        "the bias gradient of the last row only: grad_rows[-1]",
        (("self.bias.grad += grad_rows.sum(axis=0)", "self.bias.grad += grad_rows[-1]"),),
        ("linear-gradients", "linear-batch-axes"),
        "the share of the last",
    ),
    Mistake(
        "03-linear",
        LINEAR,
        "the weight gradient of the first row only: np.outer(rows[0], grad_rows[0])",
        (
            (
                "self.weight.grad += rows.T @ grad_rows",
                "self.weight.grad += np.outer(rows[0], grad_rows[0])",
            ),
        ),
        ("linear-gradients", "linear-batch-axes", "linear-no-bias"),
        "gradient of 'weight' is the share of the first",
    ),
    Mistake(
        "03-linear",
        LINEAR,
        "the weight gradient of x's rows and an unflattened grad_output: rows.T @ grad_output",
        (("self.weight.grad += rows.T @ grad_rows", "self.weight.grad += rows.T @ grad_output"),),
        ("linear-batch-axes",),
        "grad_output.reshape(-1, out_features)",
    ),
]
LINEAR_BATCH_MISTAKES += [
    Mistake(
        "03-linear",
        LINEAR,
        "the bias gradient of every row but the first: grad_rows[1:].sum(axis=0)",
        (
            (
                "self.bias.grad += grad_rows.sum(axis=0)",
                "self.bias.grad += grad_rows[1:].sum(axis=0)",
            ),
        ),
        ("linear-gradients", "linear-batch-axes"),
        "leaves out the share of the first example",
    ),
]
MISTAKES += LINEAR_BATCH_MISTAKES

# BatchNorm's batch statistics of the right values but another shape than the buffers'.
STATISTICS_SHAPE_MISTAKES = [
    Mistake(
        "13-normalization",
        BATCH_NORM,
        "the batch variance with keepdims=True: the running_var update broadcasts (C,) with it",
        (
            (
                "var = x.var(axis=self.reduce_axes)",
                "var = x.var(axis=self.reduce_axes, keepdims=True)",
            ),
        ),
        (
            "batch-norm-training-forward",
            "batch-norm-running-statistics",
            "batch-norm-training-gradients",
        ),
        "keepdims=True keeps the reduced axes with length 1",
    ),
]
MISTAKES += STATISTICS_SHAPE_MISTAKES

# More of exercise 14's slips: a record of fully watched operations only.
TAPE_MISTAKES = [
    Mistake(
        "14-tapes",
        GRADIENT_TAPE,
        "an operation recorded only when all its inputs are watched",
        (("if any(self.is_watched(tensor)", "if all(self.is_watched(tensor)"),),
        (
            "gradient-tape-records-watched-operations",
            "gradient-tape-watches-leaves-that-require-a-gradient",
            "gradient-tape-nested-second-derivative",
        ),
        "Record an operation when any input is watched",
    ),
]
TAPE_MISTAKES += [
    Mistake(
        "14-tapes",
        GRADIENT_TAPE,
        "an operation recorded only when its first input is watched (function.inputs[0])",
        (
            (
                "if any(self.is_watched(tensor) for tensor in function.inputs):",
                "if self.is_watched(function.inputs[0]):",
            ),
        ),
        ("gradient-tape-nested-second-derivative",),
        "only when its first input is watched",
    ),
]
TAPE_MISTAKES += [
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "each input given the whole tuple backward_step returns",
        (
            (
                "add_gradient(grads, tensor, tensor_grad)",
                "add_gradient(grads, tensor, backward_step(function, output, grad))",
            ),
        ),
        (
            "walk-tape-matches-grad",
            "walk-tape-skips-what-the-target-does-not-need",
            "walk-tape-with-a-tensor-seed-records-the-gradient",
            "gradient-tape-records-watched-operations",
            "gradient-tape-watches-leaves-that-require-a-gradient",
            "gradient-tape-nested-second-derivative",
        ),
        "backward_step returns one gradient per input",
    ),
]
TAPE_MISTAKES += [
    Mistake(
        "14-tapes",
        GRADIENT_TAPE,
        "record extends the list with function and output: two entries, not one pair",
        (
            (
                "self.operations.append((function, output))",
                "self.operations.extend((function, output))",
            ),
        ),
        (
            "gradient-tape-records-watched-operations",
            "gradient-tape-watches-leaves-that-require-a-gradient",
            "gradient-tape-nested-second-derivative",
        ),
        "holds each function and its output as two entries",
    ),
]
MISTAKES += TAPE_MISTAKES

# A pair recorded in the other order; a bias gradient summed over the first axis only.
ORDER_AND_AXIS_MISTAKES = [
    Mistake(
        "14-tapes",
        GRADIENT_TAPE,
        "record appends (output, function), the pair in the other order",
        (
            (
                "self.operations.append((function, output))",
                "self.operations.append((output, function))",
            ),
        ),
        (
            "gradient-tape-records-watched-operations",
            "gradient-tape-watches-leaves-that-require-a-gradient",
            "gradient-tape-nested-second-derivative",
        ),
        "the tape holds (output, function) pairs",
    ),
    Mistake(
        "03-linear",
        LINEAR,
        "the bias gradient grad_output.sum(axis=0), grad_output not flattened",
        (("self.bias.grad += grad_rows.sum(axis=0)", "self.bias.grad += grad_output.sum(axis=0)"),),
        ("linear-batch-axes",),
        "grad_output.sum(axis=0)",
    ),
]
ORDER_AND_AXIS_MISTAKES += [
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "walk_tape returns the target's gradient, grads[target], not the dictionary",
        (("    return grads\n", "    return grads[target]\n"),),
        (
            "walk-tape-matches-grad",
            "walk-tape-skips-what-the-target-does-not-need",
            "walk-tape-with-a-tensor-seed-records-the-gradient",
            "gradient-tape-records-watched-operations",
            "gradient-tape-watches-leaves-that-require-a-gradient",
            "gradient-tape-nested-second-derivative",
        ),
        "not a dictionary: return the dictionary grads itself",
    ),
    Mistake(
        "13-normalization",
        BATCH_NORM,
        "the variance by hand, ((x - mean) ** 2).mean(...), with mean of shape (C,)",
        (
            (
                "var = x.var(axis=self.reduce_axes)",
                "var = ((x - mean) ** 2).mean(axis=self.reduce_axes)",
            ),
        ),
        (
            "batch-norm-training-forward",
            "batch-norm-running-statistics",
            "batch-norm-training-gradients",
        ),
        "lines up with the last axis of x, not the channel axis",
    ),
]
MISTAKES += ORDER_AND_AXIS_MISTAKES


# Session 8: the families built from probe 12's misses, one seeded mistake each
S8_MISTAKES = [
    Mistake(
        "01-chain-rule",
        NUMERICAL_GRADIENT,
        "f_plus evaluated before x[index] is raised: (f(x) - f(x - eps)) / 2eps, half the slope",
        (
            (
                "        x[index] = original + eps\n        f_plus = float(f(x))",
                "        f_plus = float(f(x))\n        x[index] = original + eps",
            ),
        ),
        ("numerical-gradient-any-shape", "numerical-gradient-vectors"),
        "the first point is x itself, not x + eps",
    ),
    Mistake(
        "04-activations-losses",
        TANH,
        "forward np.tan(x) for np.tanh(x) (a letter missing)",
        (("y = np.tanh(x)", "y = np.tan(x)"),),
        ("tanh-forward", "tanh-gradients"),
        "np.tan(x) at every point, not tanh(x)",
    ),
    Mistake(
        "05-sequential",
        SEQUENTIAL,
        "forward chains the layers into out = layer(out) but returns x, the input",
        (
            (
                "        for layer in self.layers:\n            x = layer(x)\n        return x",
                "        out = x\n        for layer in self.layers:\n            out = layer(out)\n        return x",
            ),
        ),
        ("sequential-forward", "sequential-gradients", "sequential-nested"),
        "no layer at all, the input itself",
    ),
    Mistake(
        "06-optimizers",
        SGD,
        "buffer = state.get('momentum_buffer', grad) then always b = μb + (1-τ)g: the first step uses (1 + μ - τ)·g",
        (
            (
                '                if "momentum_buffer" not in state:\n                    buffer = grad.copy()\n                else:\n                    buffer = self.momentum * state["momentum_buffer"] + (1 - self.dampening) * grad',
                '                buffer = state.get("momentum_buffer", grad.copy())\n                buffer = self.momentum * buffer + (1 - self.dampening) * grad',
            ),
        ),
        ("sgd-momentum", "sgd-nesterov", "sgd-weight-decay"),
        "after step 1 is c · grad with c =",
    ),
    Mistake(
        "06-optimizers",
        ADAM,
        "bias-corrected m̂, v̂ computed before the moments are updated (from the previous step's moments)",
        (
            (
                '            state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * grad\n            state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad * grad\n            # Bias correction: the moments start at zero, so early averages are too small.\n            exp_avg_hat = state["exp_avg"] / (1 - beta1 ** state["step"])\n            exp_avg_sq_hat = state["exp_avg_sq"] / (1 - beta2 ** state["step"])\n',
                '            # Bias correction: the moments start at zero, so early averages are too small.\n            exp_avg_hat = state["exp_avg"] / (1 - beta1 ** state["step"])\n            exp_avg_sq_hat = state["exp_avg_sq"] / (1 - beta2 ** state["step"])\n            state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * grad\n            state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad * grad\n',
            ),
        ),
        ("adam-betas", "adam-decoupled", "adam-default", "adam-weight-decay"),
        "did not change the parameters, though the moments it kept",
    ),
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "for inputs, targets in enumerate(loader): the batch number taken as the inputs",
        (("for inputs, targets in loader:", "for inputs, targets in enumerate(loader):"),),
        ("train-one-epoch-digits", "train-one-epoch-one-epoch"),
        "enumerate gives (number, item) pairs",
    ),
    Mistake(
        "11-stax",
        SERIAL,
        "apply loops over zip(params, apply_funs) but unpacks (layer_apply, layer_params)",
        (("zip(apply_funs, params, strict=True)", "zip(params, apply_funs, strict=True)"),),
        ("serial-chain", "serial-nested"),
        "zip gives its items in the order of its arguments",
    ),
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "each input gets tensor_grad * grad: the output's gradient multiplied in again",
        (
            (
                "add_gradient(grads, tensor, tensor_grad)",
                "add_gradient(grads, tensor, tensor_grad * grad)",
            ),
        ),
        (
            "gradient-tape-nested-second-derivative",
            "gradient-tape-records-watched-operations",
            "walk-tape-matches-grad",
            "walk-tape-skips-what-the-target-does-not-need",
            "walk-tape-with-a-tensor-seed-records-the-gradient",
        ),
        "by the output's gradient once more",
    ),
    Mistake(
        "14-tapes",
        GRADIENT_TAPE,
        "record sets self.watched = {output}: the watched set replaced, not added to",
        (("self.watched.add(output)", "self.watched = {output}"),),
        (
            "gradient-tape-nested-second-derivative",
            "gradient-tape-records-watched-operations",
            "gradient-tape-watches-leaves-that-require-a-gradient",
        ),
        "the tape no longer watches",
    ),
]
MISTAKES += S8_MISTAKES


# crashes whose hint names the part of the learner's line (the line readers of errors.py)
S8_CRASH_MISTAKES = [
    Mistake(
        "04-activations-losses",
        SIGMOID,
        "y = self.saved_tensors (the tuple itself)",
        (("(y,) = self.saved_tensors", "y = self.saved_tensors"),),
        ("sigmoid-gradients",),
        "`y` holds one value, take it out",
    ),
    Mistake(
        "06-optimizers",
        ADAM,
        "state['step'] += 1 without the init (if not state dropped for step)",
        (('                state["step"] = 0\n', ""),),
        ("adam-betas", "adam-decoupled", "adam-default", "adam-weight-decay"),
        "`state['step']` looks up `'step'` in `state`",
    ),
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "reversed(operations) written operations.reverse() in the loop",
        (
            (
                "for function, output in reversed(operations):",
                "for function, output in operations.reverse():",
            ),
        ),
        (
            "gradient-tape-nested-second-derivative",
            "gradient-tape-records-watched-operations",
            "gradient-tape-watches-leaves-that-require-a-gradient",
            "walk-tape-matches-grad",
            "walk-tape-skips-what-the-target-does-not-need",
            "walk-tape-with-a-tensor-seed-records-the-gradient",
        ),
        "`operations.reverse()` changes `operations` in place and returns None",
    ),
    Mistake(
        "06-optimizers",
        ADAM,
        "sqrt from math on the moment array",
        (("(np.sqrt(exp_avg_sq_hat) + self.eps)", "(math.sqrt(exp_avg_sq_hat) + self.eps)"),),
        ("adam-betas", "adam-decoupled", "adam-default", "adam-weight-decay"),
        "`math` is a module of Python's that this notebook never imported",
    ),
    Mistake(
        "11-stax",
        DENSE,
        "apply unpacks params[0] (the first parameter) as (W, b)",
        (
            (
                "        W, b = params\n        return inputs @ W + b",
                "        W, b = params[0]\n        return inputs @ W + b",
            ),
        ),
        ("dense-layer", "dense-leading-axes"),
        "`(W, b)` takes 2 values from `params[0]`",
    ),
]
MISTAKES += S8_CRASH_MISTAKES
MISTAKES.append(
    Mistake(
        "12-convolutions",
        CONV2D,
        "x written into the channels-last padded array without its transpose",
        (
            (
                "padded[:, ph : ph + height, pw : pw + width] = x.transpose(0, 2, 3, 1)",
                "padded[:, ph : ph + height, pw : pw + width] = x",
            ),
        ),
        ("conv2d-first-layer", "conv2d-forward", "conv2d-gradients"),
        "the same lengths in another order; put its axes in the order of the place it goes to",
    )
)
MISTAKES.append(
    Mistake(
        "03-linear",
        LINEAR,
        "the parameter gradients written after the needs_input_grad return (a first layer fed "
        "data never trains)",
        (
            (
                "        self.weight.grad += rows.T @ grad_rows\n"
                "        if self.bias is not None:\n"
                "            self.bias.grad += grad_rows.sum(axis=0)\n",
                "",
            ),
            (
                "        return grad_output @ self.weight.data.T",
                "        self.weight.grad += rows.T @ grad_rows\n"
                "        if self.bias is not None:\n"
                "            self.bias.grad += grad_rows.sum(axis=0)\n"
                "        return grad_output @ self.weight.data.T",
            ),
        ),
        ("linear-gradients",),
        "a layer whose input is data still computes the gradients of its parameters",
    )
)
MISTAKES.append(
    Mistake(
        "01-chain-rule",
        NUMERICAL_GRADIENT,
        "loops over np.argwhere(x): the entries equal to 0 are never moved",
        (("for index in np.ndindex(x.shape):", "for index in map(tuple, np.argwhere(x)):"),),
        ("numerical-gradient-any-shape", "numerical-gradient-vectors"),
        "are never moved, and only those: the loop visits the nonzero entries alone",
    )
)
MISTAKES.append(
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "grads = {target: seed} made inside the loop: every operation starts from an empty walk",
        (
            (
                "    grads: dict[Tensor, Gradient] = {target: seed}\n"
                "    for function, output in reversed(operations):\n",
                "    for function, output in reversed(operations):\n"
                "        grads: dict[Tensor, Gradient] = {target: seed}\n",
            ),
        ),
        (
            "walk-tape-matches-grad",
            "walk-tape-skips-what-the-target-does-not-need",
            "walk-tape-with-a-tensor-seed-records-the-gradient",
            "gradient-tape-records-watched-operations",
            "gradient-tape-watches-leaves-that-require-a-gradient",
            "gradient-tape-nested-second-derivative",
        ),
        "it makes `grads` anew at every pass, so what the passes before stored in it is lost",
    )
)
MISTAKES.append(
    Mistake(
        "14-tapes",
        WALK_TAPE,
        "zip(function.inputs, backward_step(...)) unpacked as tensor_grad, tensor",
        (("for tensor, tensor_grad in zip(", "for tensor_grad, tensor in zip("),),
        (
            "walk-tape-matches-grad",
            "walk-tape-skips-what-the-target-does-not-need",
            "walk-tape-with-a-tensor-seed-records-the-gradient",
            "gradient-tape-records-watched-operations",
            "gradient-tape-watches-leaves-that-require-a-gradient",
            "gradient-tape-nested-second-derivative",
        ),
        "zip gives its items in the order of its arguments, so `tensor_grad` is a Tensor",
    )
)
MISTAKES.append(
    Mistake(
        "04-activations-losses",
        CROSS_ENTROPY,
        "backward unpacks the saved pair in the other order: target_probs, logits",
        (
            (
                "        logits, target_probs = self.saved_tensors\n"
                "        return (softmax(logits) - target_probs) / len(logits)",
                "        target_probs, logits = self.saved_tensors\n"
                "        return (softmax(logits) - target_probs) / len(logits)",
            ),
        ),
        ("cross-entropy-loss-gradients",),
        "backward reads self.saved_tensors in another order than forward saved them",
    )
)
MISTAKES.append(
    Mistake(
        "12-convolutions",
        CONV2D,
        "backward returns the gradient of the padded input: the padding never cropped",
        (
            (
                "return grad_padded[:, ph : height - ph, pw : width - pw].transpose(0, 3, 1, 2)",
                "return grad_padded.transpose(0, 3, 1, 2)",
            ),
        ),
        ("conv2d-first-layer", "conv2d-gradients"),
        "on each side) still on, or a slice of the wrong length",
    )
)
MISTAKES.append(
    Mistake(
        "08-training",
        TRAIN_ONE_EPOCH,
        "the return indented into the batch loop: one batch trained",
        (
            (
                "        total_samples += len(targets)\n    return total_loss / total_samples",
                "        total_samples += len(targets)\n        return total_loss / total_samples",
            ),
        ),
        ("train-one-epoch-digits", "train-one-epoch-one-epoch"),
        "is inside the loop of line",
    )
)
