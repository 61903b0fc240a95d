using System;
using System.Collections.Generic;
using FineTuning.Data;
using FineTuning.Data.Templates;
using FineTuning.Models;
using FineTuning.Training;

namespace FineTuning.Sft;

/// <summary>
/// The result of <see cref="SftTuner.Train(string, System.Threading.CancellationToken)"/>: the training run and what the
/// data looked like on the way (format, template, data report, labeling counts). Try the model with
/// <c>new TextGenerator(model, tokenizer).Chat(messages, run.Template)</c>. Dispose it to free the run's optimizer state.
/// </summary>
public sealed class SftRun : IDisposable
{
    internal SftRun(TrainingRun training, SftDataFormat format, IChatTemplate template, ChatLabeler labeler, DataValidationReport? dataReport,
        LabelingResult train, LabelingResult? validation, IReadOnlyList<ChatExample> validationExamples, IReadOnlyList<SkippedRecord> skipped, IReadOnlyList<UntrainedToken> untrainedTokens)
    {
        Training = training;
        Format = format;
        Template = template;
        Labeler = labeler;
        DataReport = dataReport;
        Train = train;
        Validation = validation;
        ValidationExamples = validationExamples;
        Skipped = skipped;
        UntrainedTokens = untrainedTokens;
    }

    /// <summary>The training run: history, evaluations, warnings; <c>SaveAdapter</c> (FineTuning.Lora) saves its adapter.</summary>
    public TrainingRun Training { get; }

    /// <summary>The record format read (detected or named).</summary>
    public SftDataFormat Format { get; }

    /// <summary>The chat template the examples were rendered with; chat with the same one.</summary>
    public IChatTemplate Template { get; }

    /// <summary>Template + tokenizer + labeling options as used in training (<see cref="ChatLabeler.TokenizePrompt"/> gives prompt ids as in training).</summary>
    public ChatLabeler Labeler { get; }

    /// <summary>The data report over every record read (lengths, duplicates, role order, ...); null for plain-text data. Also logged.</summary>
    public DataValidationReport? DataReport { get; }

    /// <summary>The labeled training examples and what was truncated or dropped.</summary>
    public LabelingResult Train { get; }

    /// <summary>The labeled validation examples, or null without a validation split.</summary>
    public LabelingResult? Validation { get; }

    /// <summary>The held-out conversations (before labeling; empty for plain-text data or without a split): try the trained model on them.</summary>
    public IReadOnlyList<ChatExample> ValidationExamples { get; }

    /// <summary>Malformed records skipped (with <see cref="MalformedRecordPolicy.SkipAndReport"/>).</summary>
    public IReadOnlyList<SkippedRecord> Skipped { get; }

    /// <summary>
    /// End-of-turn / EOS tokens the model must learn to emit whose rows looked untrained before the run
    /// (<see cref="Models.UntrainedTokens"/>); those still unchanged after training are in <see cref="TrainingRun.Warnings"/>
    /// as <c>untrained_token</c>.
    /// </summary>
    public IReadOnlyList<UntrainedToken> UntrainedTokens { get; }

    /// <summary>The run's warnings (<see cref="TrainingRun.Warnings"/>).</summary>
    public IReadOnlyList<TrainingWarning> Warnings => Training.Warnings;

    /// <inheritdoc />
    public void Dispose() => Training.Dispose();
}
