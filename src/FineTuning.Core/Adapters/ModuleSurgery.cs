using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using TorchSharp;

namespace FineTuning.Adapters;

/// <summary>
/// Replaces a child module inside its parent. TorchSharp keeps children twice: in the registry that
/// <c>named_modules</c>/<c>state_dict</c> read, and in the C# field that <c>forward</c> reads. Both must change,
/// or the old module keeps running. Containers keep children in a list instead (<c>Sequential</c>'s <c>_modules</c>,
/// <c>ModuleList&lt;T&gt;</c>'s <c>_list</c>, or a list field of your own): the element holding the child is replaced. Shared by the adapter packages (LoRA wraps layers, quantization replaces them)
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
        List<Slot> slots = SlotsHolding(parent, child);
        string where = parentName.Length == 0 ? "the model" : $"module \"{parentName}\"";
        if (slots.Count == 0)
            return $"{where} ({parent.GetType().Name}) keeps its child \"{childName}\" in no field or list the adapter can replace " +
                   "(ModuleDict is not supported yet); keep the layer in a field of your module, a Sequential or a ModuleList.";
        Slot? bad = slots.FirstOrDefault(f => !f.ElementType.IsAssignableFrom(replacementType));
        if (bad is not null)
            return $"{where} ({parent.GetType().Name}) declares {(bad.Index < 0 ? "field" : "list")} \"{bad.Field.Name}\" as {bad.Field.FieldType.Name}, which cannot hold a {replacementType.Name}; " +
                   "declare it as Module<Tensor, Tensor> (or ModuleList<Module<Tensor, Tensor>>) so adapters and quantization can replace it.";
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
        List<Slot> slots = SlotsHolding(parent, child);
        replacement.train(child.training);
        parent.register_module(childName, null!);
        parent.register_module(childName, replacement);
        foreach (Slot s in slots)
        {
            if (s.Index < 0) s.Field.SetValue(parent, replacement);
            else ((IList)s.Field.GetValue(parent)!)[s.Index] = replacement;
        }
    }

    /// <summary>A field holding the child (Index -1), or element Index of a list field (a container's storage).</summary>
    private sealed record Slot(FieldInfo Field, int Index, Type ElementType);

    private static List<Slot> SlotsHolding(object parent, object child)
    {
        var result = new List<Slot>();
        for (Type? t = parent.GetType(); t is not null && t != typeof(torch.nn.Module); t = t.BaseType)
        {
            foreach (FieldInfo f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (f.FieldType.IsValueType) continue;
                object? value = f.GetValue(parent);
                if (ReferenceEquals(value, child))
                {
                    result.Add(new Slot(f, -1, f.FieldType));
                }
                else if (value is IList list && ElementType(f.FieldType) is Type element)
                {
                    // Sequential keeps List<IModule<Tensor, Tensor>> _modules, ModuleList<T> keeps List<T> _list.
                    for (int i = 0; i < list.Count; i++)
                        if (ReferenceEquals(list[i], child)) result.Add(new Slot(f, i, element));
                }
            }
        }
        return result;
    }

    private static Type? ElementType(Type listType) =>
        listType.IsGenericType && listType.GetGenericTypeDefinition() == typeof(List<>) ? listType.GetGenericArguments()[0] : null;
}
