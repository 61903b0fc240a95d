using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using FineTuning.Data;
using FineTuning.Data.Templates;
using FineTuning.Generation;
using FineTuning.Models;
using FineTuning.Models.Tokenizers;

namespace FineTuning.Sft;

/// <summary>One SFT data file prepared for training: read, templated, split, labeled, reported (no tensor touched).</summary>
internal sealed record SftData(
    SftRecords.Contents Contents, IChatTemplate Template, ChatLabeler Labeler, DataValidationReport? Report,
    LabelingResult Train, LabelingResult? Validation, IReadOnlyList<ChatExample> ValidationChats, IReadOnlyList<int> EndTokens)
{
    /// <summary>TRL's plain prompt + completion (no markup): BOS, prompt, completion, EOS; the completion and EOS are learned.</summary>
    internal static readonly IChatTemplate PromptCompletion = new CustomChatTemplate
    {
        Name = "prompt + completion", UserPrefix = "", UserSuffix = "", AssistantPrefix = "", AssistantSuffix = "",
    };

    internal static SftData Prepare(string path, SftOptions options, IChatTemplate? template, ITokenizer tokenizer, string? modelNameOrPath, int? contextLength)
    {
        SftRecords.Contents contents = SftRecords.Read(path, options.Format, options.MalformedRecords);
        IChatTemplate chosen = template ?? TemplateFor(contents.Format, options.TokenizerConfigPath ?? ModelFolderConfig(modelNameOrPath), path);
        IReadOnlyDictionary<string, int> special = SpecialTokenIds.Of(tokenizer);
        var labeler = new ChatLabeler(chosen, tokenizer, new LabelingOptions
        {
            Loss = contents.Format == SftDataFormat.Text ? LossScope.AllTokens : options.Loss,
            MaxLength = options.MaxLength, Truncation = options.Truncation, SpecialTokens = special,
        });

        LabelingResult train;
        LabelingResult? validation;
        DataValidationReport? report = null;
        IReadOnlyList<ChatExample> validationChats = Array.Empty<ChatExample>();
        if (contents.Format == SftDataFormat.Text)
        {
            DatasetSplit<string> split = Datasets.Split(contents.Texts, options.ValidationFraction, options.Seed);
            train = labeler.LabelTexts(split.Train);
            validation = split.Validation.Count == 0 ? null : labeler.LabelTexts(split.Validation);
        }
        else
        {
            report = DataValidator.Validate(contents.Chats, labeler, contextLength);
            DatasetSplit<ChatExample> split = Datasets.Split(contents.Chats, options.ValidationFraction, options.Seed);
            train = labeler.Label(split.Train);
            validation = split.Validation.Count == 0 ? null : labeler.Label(split.Validation);
            validationChats = split.Validation;
        }

        if (validation is { Sequences.Count: 0 }) validation = null;
        if (train.Sequences.Count == 0)
            throw new DataFormatException(Path.GetFileName(path), 1, null, $"no training example is left after labeling ({train.Dropped.Count} dropped; first reason: {train.Dropped.FirstOrDefault()?.Reason ?? "none"})");
        return new SftData(contents, chosen, labeler, report, train, validation, validationChats, LearnedEndTokens(chosen, tokenizer, train));
    }

    /// <summary>The template's end-of-turn tokens and EOS that the training labels ask the model to emit.</summary>
    private static IReadOnlyList<int> LearnedEndTokens(IChatTemplate template, ITokenizer tokenizer, LabelingResult train)
    {
        var probe = new[] { new ChatMessage(ChatRole.User, "u") };
        var learned = train.Sequences.SelectMany(s => s.Labels).Where(l => l >= 0).Select(l => (int)l).ToHashSet();
        return ChatPrompt.Create(probe, template, tokenizer).StopIds.Where(learned.Contains).ToArray();
    }

    private static string? ModelFolderConfig(string? nameOrPath)
    {
        if (string.IsNullOrEmpty(nameOrPath)) return null;
        string folder = Directory.Exists(nameOrPath) ? nameOrPath : Path.GetDirectoryName(Path.GetFullPath(nameOrPath)) ?? "";
        string config = Path.Combine(folder, "tokenizer_config.json");
        return File.Exists(config) ? config : null;
    }

    /// <summary>The tokenizer config's chat_template when it has one; else the format's own (Alpaca) or TRL's plain concatenation.</summary>
    private static IChatTemplate TemplateFor(SftDataFormat format, string? tokenizerConfig, string dataPath)
    {
        if (tokenizerConfig is not null)
        {
            if (!File.Exists(tokenizerConfig)) throw new FileNotFoundException($"The tokenizer config {tokenizerConfig} (SftOptions.TokenizerConfigPath) does not exist.", tokenizerConfig);
            string json = File.ReadAllText(tokenizerConfig);
            if (HasChatTemplate(json)) return ChatTemplates.FromTokenizerConfig(json);
        }

        return format switch
        {
            SftDataFormat.Alpaca => ChatTemplates.Alpaca,
            SftDataFormat.PromptCompletion or SftDataFormat.Text => PromptCompletion,
            _ => throw new ChatTemplateException(
                $"{Path.GetFileName(dataPath)} holds conversations ({format}), but no chat template is known: " +
                (tokenizerConfig is null ? "the model's folder has no tokenizer_config.json" : $"{tokenizerConfig} has no chat_template") +
                ". Give one with WithTemplate(ChatTemplates.ChatML), another built-in template, or new CustomChatTemplate { ... }."),
        };
    }

    /// <summary>Whether the JSON has a chat_template field; malformed JSON answers true so that the template reader reports it with its line.</summary>
    private static bool HasChatTemplate(string json)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json);
            return doc.RootElement.ValueKind != JsonValueKind.Object || doc.RootElement.TryGetProperty("chat_template", out _);
        }
        catch (JsonException)
        {
            return true;
        }
    }
}

