using TorchSharp;

namespace FineTuning.Adapters;

/// <summary>A module an adapter targets (from <see cref="ModuleTargets.Find"/>), with what <see cref="ModuleSurgery"/> needs to replace it.</summary>
/// <param name="Name">The module's full name, e.g. <c>model.layers.0.self_attn.q_proj</c>.</param>
/// <param name="ParentName">Its parent's full name ("" for the root).</param>
/// <param name="ChildName">Its registered name inside the parent, e.g. <c>q_proj</c>.</param>
/// <param name="Parent">The parent module.</param>
/// <param name="Module">The module.</param>
public sealed record TargetModule(string Name, string ParentName, string ChildName, torch.nn.Module Parent, torch.nn.Module Module);
