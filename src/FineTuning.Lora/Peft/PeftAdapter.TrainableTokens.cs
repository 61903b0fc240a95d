using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Lora.TrainableTokens;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Lora.Peft;

/// <summary>
/// The trainable tokens of a LoRA adapter in PEFT's files: one tensor per wrapped module,
/// <c>base_model.model.&lt;module&gt;.token_adapter.trainable_tokens_delta</c> [tokens, dim] (the trained rows themselves),
/// and the config's <c>trainable_token_indices</c>. A head tied to the embedding has no tensor of its own.
/// </summary>
public static partial class PeftAdapter
{
    private const string TokenRowsSuffix = ".token_adapter.trainable_tokens_delta";

    private static void AddTokenRows(nn.Module model, Dictionary<string, Tensor> tensors)
    {
        foreach ((string name, TrainableTokensWrapper wrapper) in TrainableTokenWrappers.Wrappers(model))
            tensors[Prefix + name + TokenRowsSuffix] = wrapper.TokenAdapter.Rows.detach().cpu();
    }

    private static bool IsTokenRows(string rest) => rest.EndsWith(TokenRowsSuffix, StringComparison.Ordinal);

    private static string TokenRowsModule(string rest) => rest[..^TokenRowsSuffix.Length];

    private static void CopyTrainableTokenIndices(PeftAdapterConfig config, LoRAOptions options)
    {
        foreach (int i in config.TrainableTokenIndices) options.TrainableTokenIndices.Add(i);
        foreach ((string module, IReadOnlyList<int> ids) in config.TrainableTokenIndicesByModule) options.TrainableTokenIndicesByModule[module] = ids.ToList();
    }

    /// <summary>Every module trainable_token_indices names must have its rows in the file, of the right shape, and no others.</summary>
    private static void CheckTokenRows(nn.Module model, LoRAOptions options, IReadOnlyDictionary<string, Tensor> rows, string weightsPath, string configPath)
    {
        (List<TrainableTokenTargets.Target> targets, List<string> problems) = TrainableTokenTargets.Resolve(model, options);
        if (problems.Count > 0) throw new AdapterFormatException($"{configPath}: {string.Join(" ", problems)}");
        foreach (TrainableTokenTargets.Target t in targets)
        {
            string key = Prefix + t.Name + TokenRowsSuffix;
            if (!rows.TryGetValue(t.Name, out Tensor? value)) throw new AdapterFormatException($"{weightsPath}: trainable_token_indices names \"{t.Name}\" but \"{key}\" is missing.");
            long columns = t.Module is Embedding e ? e.weight!.shape[1] : ((Linear)t.Module).weight!.shape[1];
            CheckShape(weightsPath, key, value.shape, new[] { (long)t.Indices.Count, columns });
        }
        foreach (string module in rows.Keys.Where(m => targets.All(t => t.Name != m)))
            throw new AdapterFormatException($"{weightsPath}: tensor \"{Prefix}{module}{TokenRowsSuffix}\" holds trained token rows, but trainable_token_indices in {configPath} does not name \"{module}\".");
    }

    private static void LoadTokenRows(nn.Module model, IReadOnlyDictionary<string, Tensor> rows)
    {
        foreach ((string name, TrainableTokensWrapper wrapper) in TrainableTokenWrappers.Wrappers(model))
            if (rows.TryGetValue(name, out Tensor? value)) wrapper.TokenAdapter.Rows.copy_(value);
    }
}
