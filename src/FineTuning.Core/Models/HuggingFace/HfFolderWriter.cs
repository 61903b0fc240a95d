using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuning.Models.Tokenizers;

namespace FineTuning.Models.HuggingFace;

/// <summary>
/// Writes a checkpoint folder atomically: everything goes into a hidden sibling folder, which is renamed into place
/// only when complete, so a failure (exception, full disk) never leaves a half-written folder that looks valid.
/// Also writes the tokenizer and generation files that sit beside the weights.
/// </summary>
internal static class HfFolderWriter
{
    internal const string TokenizerFileName = "tokenizer.json";
    internal const string TokenizerConfigFileName = "tokenizer_config.json";
    internal const string GenerationConfigFileName = "generation_config.json";

    private static readonly JsonSerializerOptions Indented = new(Json.JsonReflection.Options(indented: true))
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Refuses what cannot be saved, before anything is written.</summary>
    internal static void Check(string folder, HfSaveOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxShardBytes, nameof(options.MaxShardBytes));
        string full = Path.GetFullPath(folder);
        if (File.Exists(full)) throw new IOException($"'{full}' is a file; a checkpoint is saved into a folder.");
        if (!options.Overwrite && Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
        {
            throw new IOException($"'{full}' already exists and is not empty; pass HfSaveOptions.Overwrite = true to replace it, or choose a new folder.");
        }

        if (options.Tokenizer is not (null or HfTokenizer or Llama2CTokenizer))
        {
            throw new NotSupportedException($"Writing a {options.Tokenizer.GetType().Name} as tokenizer.json is not supported yet (HfTokenizer and Llama2CTokenizer are).");
        }

        if (options.ChatTemplate is not null && options.Tokenizer is null)
        {
            throw new ArgumentException("HfSaveOptions.ChatTemplate is written into tokenizer_config.json, which needs HfSaveOptions.Tokenizer.", nameof(options));
        }
    }

    /// <summary><c>generation_config.json</c>: the tokenizer's BOS/EOS ids (when known), as <c>GenerationConfig.from_model_config</c> writes them.</summary>
    internal static void WriteGenerationConfig(string folder, ITokenizer? tokenizer)
    {
        var json = new JsonObject { ["_from_model_config"] = true };
        if (tokenizer is not null && tokenizer.BosId >= 0) json["bos_token_id"] = tokenizer.BosId;
        if (tokenizer is not null && tokenizer.EosId >= 0) json["eos_token_id"] = tokenizer.EosId;
        File.WriteAllText(Path.Combine(folder, GenerationConfigFileName), json.ToJsonString(Indented) + "\n");
    }

    /// <summary><c>tokenizer.json</c> and <c>tokenizer_config.json</c> (with the chat template), when a tokenizer is given.</summary>
    internal static void WriteTokenizer(string folder, ITokenizer? tokenizer, string? chatTemplate, int maxLength)
    {
        string tokenizerPath = Path.Combine(folder, TokenizerFileName);
        string configPath = Path.Combine(folder, TokenizerConfigFileName);
        JsonObject config;
        switch (tokenizer)
        {
            case null:
                return;
            case Llama2CTokenizer llama2c:
                File.WriteAllText(tokenizerPath, llama2c.ToTokenizerJson() + "\n");
                config = Llama2CTokenizerJson.TokenizerConfig(maxLength, chatTemplate);
                break;
            case HfTokenizer hf:
                File.WriteAllText(tokenizerPath, hf.TokenizerJson);
                config = hf.TokenizerConfigJson is { } text
                    ? JsonNode.Parse(text)?.AsObject() ?? new JsonObject()
                    : new JsonObject
                    {
                        ["tokenizer_class"] = "PreTrainedTokenizerFast",
                        ["bos_token"] = hf.BosId >= 0 ? hf.IdToToken(hf.BosId) : null,
                        ["eos_token"] = hf.EosId >= 0 ? hf.IdToToken(hf.EosId) : null,
                        ["model_max_length"] = maxLength,
                    };
                if (chatTemplate is not null) config["chat_template"] = chatTemplate;
                break;
            default:
                throw new NotSupportedException($"Writing a {tokenizer.GetType().Name} as tokenizer.json is not supported yet.");
        }

        File.WriteAllText(configPath, config.ToJsonString(Indented) + "\n");
    }
}
