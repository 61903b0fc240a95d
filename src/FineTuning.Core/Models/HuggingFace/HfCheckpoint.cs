using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Models.Bert;
using FineTuning.Models.Gpt2;
using FineTuning.Models.Llama;
using FineTuning.Models.SafeTensors;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Models.HuggingFace;

/// <summary>
/// Loads and saves Hugging Face checkpoint folders: <c>config.json</c> plus <c>model.safetensors</c> or a sharded
/// <c>model.safetensors.index.json</c>. <c>model_type</c> chooses the architecture: <c>llama</c> (also SmolLM and
/// TinyLlama), <c>mistral</c>, <c>qwen2</c> → <see cref="LlamaForCausalLM"/>; <c>gpt2</c> → <see cref="Gpt2LMHeadModel"/>;
/// <c>bert</c> → <see cref="BertModel"/> or <see cref="BertForSequenceClassification"/>. Loading is strict: every
/// missing, unexpected, mis-shaped or non-floating tensor is reported, naming the file and the tensor.
/// </summary>
public static class HfCheckpoint
{
    /// <summary>The configuration file of a checkpoint folder.</summary>
    public const string ConfigFileName = "config.json";

    /// <summary>Hugging Face's default shard size for <see cref="Save"/> (5 GB).</summary>
    public const long DefaultMaxShardBytes = 5_000_000_000;

    /// <summary>The <c>model_type</c> values <see cref="Load(string, ScalarType?)"/> understands.</summary>
    public static IReadOnlyList<string> SupportedModelTypes { get; } = new[] { "llama", "mistral", "qwen2", "gpt2", "bert" };

    /// <summary>
    /// Reads the checkpoint in <paramref name="folder"/> and returns the model, in evaluation mode, on the CPU.
    /// </summary>
    /// <param name="folder">The checkpoint folder.</param>
    /// <param name="dtype">Parameter dtype: float32 by default; null keeps the file's floating dtype (which must then be the same for all tensors).</param>
    /// <returns>A <see cref="LlamaForCausalLM"/>, <see cref="Gpt2LMHeadModel"/>, <see cref="BertModel"/> or <see cref="BertForSequenceClassification"/>, owned by the caller, its <see cref="IPretrainedModel.NameOrPath"/> set to <paramref name="folder"/>.</returns>
    /// <exception cref="ModelFileException"><c>config.json</c> or the weights file is missing.</exception>
    /// <exception cref="ModelConfigException"><c>config.json</c> is malformed, invalid, or of an unsupported <c>model_type</c>.</exception>
    /// <exception cref="SafeTensorsFormatException">A weights file is malformed or truncated.</exception>
    /// <exception cref="CheckpointWeightsException">The tensors do not fit the model (names, shapes, dtypes).</exception>
    public static nn.Module Load(string folder, ScalarType? dtype = ScalarType.Float32) => Load(folder, dtype, null);

    /// <summary>
    /// Like <see cref="Load(string, ScalarType?)"/>, reading the checkpoint straight into quantized layers (transformers'
    /// <c>from_pretrained(..., quantization_config=...)</c>): the model is laid out without storage, then each layer is
    /// read, handed to <paramref name="quantization"/> (FineTuning.Quantization's <c>QuantizationOptions</c>) and, when it
    /// is quantized, its dense weight freed before the next layer is read, so the dense model never exists whole. The
    /// result is the same model, bit for bit, as loading it dense and then applying the same quantization. Train it
    /// with <c>WithLoRA</c> (its base is already quantized; <c>WithQLoRA</c> would find nothing left to quantize).
    /// LLaMA-family folders only (llama, mistral, qwen2).
    /// </summary>
    /// <param name="folder">The checkpoint folder.</param>
    /// <param name="dtype">Dtype of the layers kept dense (and of the quantized layers' computation): float32 by default; null keeps the file's floating dtype.</param>
    /// <param name="quantization">Which layers to quantize and how; null loads every layer dense.</param>
    /// <returns>The model, owned by the caller.</returns>
    /// <exception cref="NotSupportedException">A quantized load of a model type other than llama, mistral or qwen2.</exception>
    /// <exception cref="Training.InvalidConfigurationException">The quantization settings do not fit the model (checked before any weight is read).</exception>
    public static nn.Module Load(string folder, ScalarType? dtype, Adapters.ILoadTimeQuantization? quantization)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        FineTuningRuntime.EnsureLoaded();
        if (dtype is ScalarType requested && !HfWeightLoader.IsFloating(requested))
        {
            throw new ArgumentException($"dtype must be a floating type, got {requested}.", nameof(dtype));
        }

        string configPath = Path.Combine(folder, ConfigFileName);
        (string json, System.Text.Json.JsonElement root, string modelType) = HfConfigFile.Read(configPath);
        if (!((IList<string>)SupportedModelTypes).Contains(modelType))
        {
            throw new ModelConfigException($"'{configPath}': model_type \"{modelType}\" is not supported; supported: {string.Join(", ", SupportedModelTypes)}.");
        }

        if (quantization is not null && modelType is "gpt2" or "bert")
            throw new NotSupportedException($"Loading a {modelType} checkpoint straight into quantized layers is not supported yet (llama, mistral and qwen2 are); load it dense and quantize it.");
        using ISafeTensorsReader reader = OpenWeights(folder);
        ScalarType target = dtype ?? HfWeightLoader.CommonDType(folder, reader);
        HfWeightMap map = modelType switch
        {
            "gpt2" => Gpt2Folder.Create(configPath, json, reader, target),
            "bert" => BertFolder.Create(configPath, json, root, reader, target),
            // LLaMA-family models are laid out on the meta device and built layer by layer from the file's tensors: no
            // random initialisation that the file then overwrites, and never two copies of a layer.
            _ => LlamaFamilyFolder.Create(configPath, json, root, modelType, reader, target, new Device(DeviceType.META)),
        };

        try
        {
            if (map.Model is LlamaForCausalLM llama)
            {
                List<string> problems = quantization?.Validate(llama).ToList() ?? new List<string>();
                if (problems.Count > 0) throw new Training.InvalidConfigurationException(problems);
                HfWeightLoader.LoadLayerByLayer(folder, reader, map, quantization, (name, meta, read) => LlamaFamilyFolder.Materialize(llama.Config, name, meta, read));
            }
            else
            {
                HfWeightLoader.Load(folder, reader, map);
            }

            map.Model.eval();
            if (map.Model is IPretrainedModel pretrained) pretrained.NameOrPath = folder;
            return map.Model;
        }
        catch
        {
            map.Model.Dispose();
            throw;
        }
    }

    /// <summary>Like <see cref="Load(string, ScalarType?)"/>, for a caller that knows which model the folder holds.</summary>
    /// <typeparam name="TModel">The expected model type, e.g. <see cref="LlamaForCausalLM"/>.</typeparam>
    /// <param name="folder">The checkpoint folder.</param>
    /// <param name="dtype">Parameter dtype: float32 by default; null keeps the file's floating dtype.</param>
    /// <returns>The model, owned by the caller.</returns>
    /// <exception cref="ModelConfigException">The folder holds another kind of model (or see <see cref="Load(string, ScalarType?)"/>).</exception>
    public static TModel Load<TModel>(string folder, ScalarType? dtype = ScalarType.Float32)
        where TModel : nn.Module => Load<TModel>(folder, dtype, null);

    /// <summary>Like <see cref="Load(string, ScalarType?, Adapters.ILoadTimeQuantization?)"/>, for a caller that knows which model the folder holds.</summary>
    /// <typeparam name="TModel">The expected model type, e.g. <see cref="LlamaForCausalLM"/>.</typeparam>
    /// <param name="folder">The checkpoint folder.</param>
    /// <param name="dtype">Parameter dtype: float32 by default; null keeps the file's floating dtype.</param>
    /// <param name="quantization">Which layers to quantize while loading; null loads every layer dense.</param>
    /// <returns>The model, owned by the caller.</returns>
    /// <exception cref="ModelConfigException">The folder holds another kind of model (or see <see cref="Load(string, ScalarType?)"/>).</exception>
    public static TModel Load<TModel>(string folder, ScalarType? dtype, Adapters.ILoadTimeQuantization? quantization)
        where TModel : nn.Module
    {
        nn.Module model = Load(folder, dtype, quantization);
        if (model is TModel typed) return typed;
        string actual = model.GetType().Name;
        model.Dispose();
        throw new ModelConfigException($"'{Path.Combine(folder, ConfigFileName)}' describes a {actual}, not a {typeof(TModel).Name}.");
    }

    /// <summary>
    /// Writes <paramref name="model"/> as a Hugging Face folder that transformers (and <see cref="Load(string, ScalarType?)"/>) read:
    /// <c>config.json</c>, <c>generation_config.json</c>, the weights as <c>model.safetensors</c> (or shards plus
    /// <c>model.safetensors.index.json</c> above <see cref="HfSaveOptions.MaxShardBytes"/>) in the model's dtype and HF
    /// layout (GPT-2's Conv1D weights transposed back, tied heads omitted), and with <see cref="HfSaveOptions.Tokenizer"/>
    /// the tokenizer files. The folder is written under a temporary name and renamed into place when complete.
    /// </summary>
    /// <param name="model">A model <see cref="Load(string, ScalarType?)"/> can return; LoRA layers must be folded in first (<c>LoRA.MergeAndUnload</c>).</param>
    /// <param name="folder">The output folder: new, empty, or (with <see cref="HfSaveOptions.Overwrite"/>) replaced.</param>
    /// <param name="options">Shard size, overwrite, tokenizer and chat template; null uses the defaults.</param>
    /// <exception cref="ArgumentException">The model is not a supported type, still carries adapter layers, or holds layers
    /// stored quantized (dequantize them first: <see cref="Adapters.QuantizedLayers.Dequantize"/>).</exception>
    /// <exception cref="IOException">The folder exists and is not empty (without overwrite); nothing is written.</exception>
    /// <exception cref="FineTuning.IO.SaveException">Writing failed (full disk, permissions): the folder is as it was, no temporary folder is left.</exception>
    /// <exception cref="NotSupportedException">The tokenizer is of a kind that cannot be written as tokenizer.json yet.</exception>
    public static void Save(nn.Module model, string folder, HfSaveOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        options ??= new HfSaveOptions();
        HfFolderWriter.Check(folder, options);
        if (Adapters.QuantizedLayers.ExportProblem(model) is { } quantized)
            throw new ArgumentException($"This model cannot be saved as a Hugging Face folder: {quantized}.", nameof(model));
        ScalarType dtype = FirstFloatingDType(model);
        HfWeightMap map;
        Action<string> writeConfig;
        int maxLength;
        switch (model)
        {
            case LlamaForCausalLM llama:
                LlamaFamilyFolder.CheckSavable(llama);
                map = LlamaFamilyFolder.Map(llama);
                writeConfig = path => LlamaFamilyFolder.WriteConfig(path, llama, dtype);
                maxLength = llama.Config.MaxPositionEmbeddings;
                break;
            case Gpt2LMHeadModel gpt2:
                map = Gpt2Folder.Map(gpt2);
                writeConfig = path => Gpt2Folder.WriteConfig(path, gpt2, dtype);
                maxLength = gpt2.Config.NPositions;
                break;
            case BertModel bert:
                map = BertFolder.Map(bert);
                writeConfig = path => BertFolder.WriteConfig(path, bert.Config, null, dtype);
                maxLength = bert.Config.MaxPositionEmbeddings;
                break;
            case BertForSequenceClassification classifier when classifier.Pooling == BertClassifierPooling.Pooler:
                map = BertFolder.Map(classifier);
                writeConfig = path => BertFolder.WriteConfig(path, classifier.Encoder.Config, classifier.NumLabels, dtype);
                maxLength = classifier.Encoder.Config.MaxPositionEmbeddings;
                break;
            default:
                throw new ArgumentException(
                    $"{model.GetType().Name} cannot be saved as a Hugging Face folder (LlamaForCausalLM, Gpt2LMHeadModel, BertModel, BertForSequenceClassification with pooler pooling can).",
                    nameof(model));
        }

        using var scope = torch.NewDisposeScope();
        Dictionary<string, Tensor> tensors = HfWeightLoader.ToCheckpoint(map);
        FineTuning.IO.AtomicFolder.Write(folder, temporary =>
        {
            writeConfig(Path.Combine(temporary, ConfigFileName));
            HfFolderWriter.WriteGenerationConfig(temporary, options.Tokenizer);
            HfFolderWriter.WriteTokenizer(temporary, options.Tokenizer, options.ChatTemplate, maxLength);
            var metadata = new Dictionary<string, string> { ["format"] = "pt" };
            long bytes = 0;
            foreach (Tensor t in tensors.Values) bytes += t.NumberOfElements * t.ElementSize;
            if (bytes <= options.MaxShardBytes) SafeTensorsWriter.Write(Path.Combine(temporary, SafeTensorsCheckpoint.SingleFileName), tensors, metadata);
            else SafeTensorsWriter.WriteSharded(temporary, tensors, options.MaxShardBytes, metadata);
        });
    }

    private static ISafeTensorsReader OpenWeights(string folder)
    {
        try
        {
            return SafeTensorsCheckpoint.Open(folder);
        }
        catch (FileNotFoundException e)
        {
            throw new ModelFileException(e.FileName ?? folder, e.Message, e);
        }
    }

    private static ScalarType FirstFloatingDType(nn.Module model)
    {
        foreach (var p in model.parameters())
        {
            if (HfWeightLoader.IsFloating(p.dtype)) return p.dtype;
        }

        return ScalarType.Float32;
    }
}
