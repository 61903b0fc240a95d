using System;
using FineTuning.Adapters;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Models.SafeTensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Quantization;

/// <summary>One quantized layer (linear, or a token embedding) found in a file, checked against its metadata and the model before anything changes.</summary>
internal sealed class StoredLayer
{
    private StoredLayer(string module, QuantStateJson state, QuantizationType type, ScalarType dtype, List<string> tensorNames)
    {
        Module = module;
        State = state;
        Type = type;
        DType = dtype;
        TensorNames = tensorNames;
    }

    public string Module { get; }

    public string Prefix => QuantizedSafeTensors.Prefix(Module);

    public QuantStateJson State { get; }

    public QuantizationType Type { get; }

    public ScalarType DType { get; }

    public List<string> TensorNames { get; }

    /// <summary>The layer described by quant-state tensor <paramref name="info"/>, or null after adding its problems.</summary>
    public static StoredLayer? Check(SafeTensorsReader reader, SafeTensorInfo info, Dictionary<string, nn.Module> modules, List<string> problems)
    {
        string key = info.Name;
        int at = key.LastIndexOf(QuantStateJson.KeyPrefix, StringComparison.Ordinal);
        string module = at == 0 ? string.Empty : key[..(at - 1)];
        string p = QuantizedSafeTensors.Prefix(module);
        int before = problems.Count;
        void Problem(string text) => problems.Add($"layer \"{module}\": {text}");

        if (info.DType != SafeTensorsDType.U8) { Problem($"\"{key}\" must be U8 JSON bytes"); return null; }
        byte[] json;
        using (Tensor t = reader.Load(key)) json = t.data<byte>().ToArray();
        QuantStateJson? state = QuantStateJson.Parse(json, out string? why);
        if (state is null) { Problem($"\"{key}\" is not a readable quant state ({why})"); return null; }
        QuantizationType? type = QuantizationType.FromName(state.QuantType);
        if (type is null) { Problem($"unknown quant_type \"{state.QuantType}\""); return null; }
        if (!key.EndsWith(QuantStateJson.KeySuffix(type), StringComparison.Ordinal))
            Problem($"the key \"{key}\" does not name its quant_type \"{state.QuantType}\"");
        ScalarType? dtype = QuantStateJson.ParseDType(state.DType);
        if (dtype is null) Problem($"unknown dtype \"{state.DType}\"");
        if (state.BlockSize < 32 || state.BlockSize > 4096 || (state.BlockSize & (state.BlockSize - 1)) != 0)
            Problem($"block size {state.BlockSize} is not a power of two from 32 to 4096");
        if (state.Shape.Length != 2 || state.Shape.Any(s => s <= 0) || (state.BlockSize > 0 && state.Shape[1] % state.BlockSize != 0))
        {
            Problem($"shape [{string.Join(", ", state.Shape)}] is not a 2-D [out, in] with in divisible by the block size {state.BlockSize}");
            return null;
        }
        if (problems.Count > before) return null;

        long n = state.Shape[0] * state.Shape[1];
        long blocks = n / state.BlockSize;
        var names = new List<string> { key };
        void Expect(string name, SafeTensorsDType dt, long count)
        {
            names.Add(name);
            if (!reader.TryGetInfo(name, out SafeTensorInfo? t)) Problem($"\"{name}\" is missing");
            else if (t.DType != dt || t.ElementCount != count)
                Problem($"\"{name}\" is {t.DType} with {t.ElementCount} elements; the quant state needs {dt} with {count}");
        }
        Expect(p + "weight", SafeTensorsDType.U8, n * type.BitsPerValue / 8);
        Expect(p + "weight.quant_map", SafeTensorsDType.F32, type.Table.Length);
        if (state.NestedBlockSize is { } nb)
        {
            if (nb <= 0) Problem($"nested block size {nb} must be positive");
            Expect(p + "weight.absmax", SafeTensorsDType.U8, blocks);
            if (nb > 0) Expect(p + "weight.nested_absmax", SafeTensorsDType.F32, (blocks + nb - 1) / nb);
            Expect(p + "weight.nested_quant_map", SafeTensorsDType.F32, 256);
        }
        else
        {
            Expect(p + "weight.absmax", SafeTensorsDType.F32, blocks);
        }
        if (problems.Count == before)
        {
            using Tensor map = reader.Load(p + "weight.quant_map");
            if (!map.data<float>().ToArray().SequenceEqual(type.Table))
                Problem($"\"{p}weight.quant_map\" differs from the {type.Name} values this library decodes with");
        }
        if (!modules.TryGetValue(module, out nn.Module? target)) Problem("the model has no module of that name");
        else if (target is not (Linear or QuantizedLinear or Embedding or QuantizedEmbedding)) Problem($"the model's module is a {target.GetType().Name}, not a linear layer or a token embedding");
        else if (Shape(target) is { } s && (s.Out != state.Shape[0] || s.In != state.Shape[1]))
            Problem($"the file's weight is [{state.Shape[0]}, {state.Shape[1]}] but the model's is [{s.Out}, {s.In}]");
        else if (module.Length == 0) Problem("the model itself cannot be replaced; load into a model that contains the layer");
        else
        {
            (nn.Module parent, string parentName, string child) = Parent(module, modules);
            string? surgery = ModuleSurgery.CheckReplaceable(parent, parentName, child, target, IsEmbedding(target) ? typeof(QuantizedEmbedding) : typeof(QuantizedLinear));
            if (surgery is not null) Problem(surgery);
        }
        return problems.Count > before ? null : new StoredLayer(module, state, type, dtype!.Value, names);
    }

    /// <summary>Builds the quantized layer from the file and swaps it into the model.</summary>
    public void Apply(SafeTensorsReader reader, Dictionary<string, nn.Module> modules)
    {
        using var scope = NewDisposeScope();
        Tensor packed = reader.Load(Prefix + "weight").reshape(-1);
        Tensor absmax = reader.Load(Prefix + "weight.absmax").reshape(-1);
        ScaleCodes? scales = null;
        if (State.NestedBlockSize is { } nb)
        {
            using Tensor nestedMap = reader.Load(Prefix + "weight.nested_quant_map");
            scales = new ScaleCodes(absmax, reader.Load(Prefix + "weight.nested_absmax").reshape(-1), State.NestedOffset!.Value,
                nestedMap.data<float>().ToArray(), nb);
        }
        var weight = new QuantizedWeight(Type, State.BlockSize, State.Shape[0], State.Shape[1], DType, packed,
            scales is null ? absmax : null, scales);
        nn.Module old = modules[Module];
        nn.Module layer;
        if (IsEmbedding(old))
        {
            layer = new QuantizedEmbedding(weight, DType);
        }
        else
        {
            Tensor? bias = reader.Contains(Prefix + "bias") ? reader.Load(Prefix + "bias") : null;
            layer = new QuantizedLinear(weight, bias, bias?.dtype ?? DType);
        }

        (nn.Module parent, _, string child) = Parent(Module, modules);
        ModuleSurgery.Replace(parent, child, old, layer);
        old.Dispose();
        modules[Module] = layer;
    }

    private static (long Out, long In)? Shape(nn.Module m) => m switch
    {
        Linear l => (l.weight!.shape[0], l.weight.shape[1]),
        QuantizedLinear q => (q.OutFeatures, q.InFeatures),
        Embedding e => (e.weight!.shape[0], e.weight.shape[1]),
        QuantizedEmbedding q => (q.NumEmbeddings, q.EmbeddingDim),
        _ => null,
    };

    private static bool IsEmbedding(nn.Module m) => m is Embedding or QuantizedEmbedding;

    private static (nn.Module Parent, string ParentName, string Child) Parent(string module, Dictionary<string, nn.Module> modules)
    {
        int dot = module.LastIndexOf('.');
        string parentName = dot < 0 ? string.Empty : module[..dot];
        return (modules[parentName], parentName, module[(dot + 1)..]);
    }
}
