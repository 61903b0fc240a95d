using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using TorchSharp;

namespace FineTuning.Adapters;

/// <summary>
/// Replaces a child module inside its parent. TorchSharp keeps children twice: in the registry that
/// <c>named_modules</c>/<c>state_dict</c> read, and in the C# field that <c>forward</c> reads. Both must change,
/// or the old module keeps running. Shared by the adapter packages (LoRA wraps layers, quantization replaces them)
/// and available to authors of new adapters.
/// </summary>
public static class ModuleSurgery
{
    /// <summary>Problems replacing <paramref name="child"/> of <paramref name="parent"/> with a <paramref name="replacementType"/> would meet, or null.</summary>
    /// <param name="parent">The module that holds the child.</param>
    /// <param name="parentName">Its full name ("" for the root), for messages.</param>
    /// <param name="childName">The child's registered name.</param>
    /// <param name="child">The child module.</param>
    /// <param name="replacementType">The type of the module that will replace it.</param>
    public static string? CheckReplaceable(torch.nn.Module parent, string parentName, string childName, torch.nn.Module child, Type replacementType)
    {
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(parentName);
        ArgumentNullException.ThrowIfNull(child);
        ArgumentNullException.ThrowIfNull(replacementType);
        List<FieldInfo> fields = FieldsHolding(parent, child);
        string where = parentName.Length == 0 ? "the model" : $"module \"{parentName}\"";
        if (fields.Count == 0)
            return $"{where} ({parent.GetType().Name}) keeps its child \"{childName}\" in no field the adapter can replace " +
                   "(containers such as Sequential and ModuleList are not supported yet); keep the layer in a field of your module.";
        FieldInfo? bad = fields.FirstOrDefault(f => !f.FieldType.IsAssignableFrom(replacementType));
        if (bad is not null)
            return $"{where} ({parent.GetType().Name}) declares field \"{bad.Name}\" as {bad.FieldType.Name}, which cannot hold a {replacementType.Name}; " +
                   "declare it as Module<Tensor, Tensor> so adapters and quantization can replace it.";
        return null;
    }

    /// <summary>
    /// Swaps <paramref name="child"/> for <paramref name="replacement"/> in the registry and in every field holding it.
    /// The replacement (and all its sub-modules) takes the child's training/evaluation mode, so swapping a layer of a
    /// model in eval mode never brings dropout back to life.
    /// </summary>
    /// <param name="parent">The module that holds the child.</param>
    /// <param name="childName">The child's registered name.</param>
    /// <param name="child">The child module.</param>
    /// <param name="replacement">The module to put in its place.</param>
    public static void Replace(torch.nn.Module parent, string childName, torch.nn.Module child, torch.nn.Module replacement)
    {
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentException.ThrowIfNullOrEmpty(childName);
        ArgumentNullException.ThrowIfNull(child);
        ArgumentNullException.ThrowIfNull(replacement);
        List<FieldInfo> fields = FieldsHolding(parent, child);
        replacement.train(child.training);
        parent.register_module(childName, null!);
        parent.register_module(childName, replacement);
        foreach (FieldInfo f in fields) f.SetValue(parent, replacement);
    }

    private static List<FieldInfo> FieldsHolding(object parent, object child)
    {
        var result = new List<FieldInfo>();
        for (Type? t = parent.GetType(); t is not null && t != typeof(torch.nn.Module); t = t.BaseType)
        {
            foreach (FieldInfo f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                if (!f.FieldType.IsValueType && ReferenceEquals(f.GetValue(parent), child)) result.Add(f);
        }
        return result;
    }
}
