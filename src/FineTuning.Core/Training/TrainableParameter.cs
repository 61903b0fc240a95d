using TorchSharp.Modules;

namespace FineTuning.Training;

/// <summary>A parameter the optimizer updates, with its state-dict name and whether weight decay applies.</summary>
/// <param name="Name">The state-dict name, e.g. <c>model.layers.0.self_attn.q_proj.weight</c>.</param>
/// <param name="Parameter">The parameter itself (owned by the model).</param>
/// <param name="ApplyWeightDecay">False for biases and normalisation weights (any parameter with fewer than 2 dimensions).</param>
public sealed record TrainableParameter(string Name, Parameter Parameter, bool ApplyWeightDecay);
