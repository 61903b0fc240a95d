using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using TorchSharp;

namespace FineTuning.Quantization;

/// <summary>
/// Replaces a child module inside its parent. TorchSharp keeps children twice: in the registry that
/// <c>named_modules</c>/<c>state_dict</c> read, and in the C# field that <c>forward</c> reads. Both must change,
/// or the old module keeps running (../shared/TORCHSHARP.md).
/// </summary>
internal static class ModuleSurgery
{
    /// <summary>Problems replacing <paramref name="child"/> of <paramref name="parent"/> with a <paramref name="replacementType"/> would meet, or null.</summary>
    public static string? CheckReplaceable(torch.nn.Module parent, string parentName, string childName, torch.nn.Module child, Type replacementType)
    {
        List<FieldInfo> fields = FieldsHolding(parent, child);
        string where = parentName.Length == 0 ? "the model" : $"module \"{parentName}\"";
        if (fields.Count == 0)
            return $"{where} ({parent.GetType().Name}) keeps its child \"{childName}\" in no field the adapter can replace " +
                   "(containers such as Sequential and ModuleList are not supported yet); keep the layer in a field of your module.";
        FieldInfo? bad = fields.FirstOrDefault(f => !f.FieldType.IsAssignableFrom(replacementType));
        if (bad is not null)
            return $"{where} ({parent.GetType().Name}) declares field \"{bad.Name}\" as {bad.FieldType.Name}, which cannot hold a {replacementType.Name}; " +
                   "declare it as Module<Tensor, Tensor> so quantization can replace it.";
        return null;
    }

    /// <summary>Swaps <paramref name="child"/> for <paramref name="replacement"/> in the registry and in every field holding it.</summary>
    public static void Replace(torch.nn.Module parent, string childName, torch.nn.Module child, torch.nn.Module replacement)
    {
        List<FieldInfo> fields = FieldsHolding(parent, child);
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
