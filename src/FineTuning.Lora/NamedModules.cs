using System;
using System.Collections.Generic;
using TorchSharp;

namespace FineTuning.Lora;

/// <summary>
/// Children by name, registered as they are added (TorchSharp's ModuleDict does not register entries added
/// after its owner registered its components, so their parameters would be invisible and eval() would not
/// reach them). Gives state-dict keys such as <c>lora_A.default.weight</c>.
/// </summary>
internal sealed class NamedModules<T> : torch.nn.Module
    where T : torch.nn.Module
{
    private readonly Dictionary<string, T> _items = new(StringComparer.Ordinal);

    public NamedModules()
        : base(nameof(NamedModules<T>))
    {
    }

    public T this[string name] => _items[name];

    public void Add(string name, T module)
    {
        register_module(name, module);
        _items.Add(name, module);
    }

    /// <summary>Unregisters and disposes the child <paramref name="name"/>.</summary>
    public void Remove(string name)
    {
        T module = _items[name];
        register_module(name, null!);
        _items.Remove(name);
        module.Dispose();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (T m in _items.Values) m.Dispose();
            _items.Clear();
        }
        base.Dispose(disposing);
    }
}
