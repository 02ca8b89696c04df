"""An objective of plain arithmetic for the engine's golden run: + - * / on the genome and the
seed only (IEEE-754 rounds those the same on every CPU; libm's exp and log need not), so its
scores are the same bits everywhere and the golden tables test the engine's decisions alone."""

from hpsearch.space import CategoricalGene, FloatGene, IntGene, LayersGene, Space


def engine_space():
    return Space([FloatGene("learning_rate", 1e-4, 1.0, log=True), FloatGene("momentum", 0.0, 0.99),
                  LayersGene("hidden_sizes", 1, 3, 8, 512), IntGene("batch_size", 8, 256, power_of_two=True),
                  IntGene("epochs", 2, 40), CategoricalGene("init", ("he_uniform", "xavier_normal", "zeros"))])


def engine_objective(params, seed):
    """Best near learning_rate 0.02, momentum 0.9, two layers of about 128, batch 32, many
    epochs; "zeros" scores 0.1 (a dead category); a seed-dependent noise of at most 0.01."""
    if params["init"] == "zeros":
        return {"fitness": 0.1}
    ratio = params["learning_rate"] / 0.02
    step = (ratio + 1 / ratio) / 2 - 1  # 0 at the optimum, grows on both sides (no logarithm)
    momentum = (params["momentum"] - 0.9) ** 2
    sizes = params["hidden_sizes"]
    depth = (len(sizes) - 2) ** 2 * 0.02
    width = sum(((size / 128) + (128 / size)) / 2 - 1 for size in sizes) / len(sizes)
    batch = ((params["batch_size"] / 32) + (32 / params["batch_size"])) / 2 - 1
    epochs = 1 / params["epochs"]
    noise = (seed % 1000) / 100_000
    score = 0.98 - 0.05 * step - 0.2 * momentum - depth - 0.03 * width - 0.02 * batch - 0.1 * epochs + noise
    bonus = 0.005 if params["init"] == "he_uniform" else 0.0
    return {"fitness": score + bonus}
