using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using FineTuning.Adapters;
using FineTuning.Data;
using FineTuning.Data.Templates;
using FineTuning.Evaluation;
using FineTuning.Models;
using FineTuning.Models.Tokenizers;
using FineTuning.Training;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Sft;

/// <summary>
/// One-call supervised fine-tuning of a causal LM from a data file, as TRL's <c>SFTTrainer</c> takes a dataset:
/// <c>FineTuner.ForSft(model, tokenizer).WithLoRA(r: 8, alpha: 16).Train("data.jsonl")</c>. The file's record format is
/// detected from its first record (<see cref="SftOptions.Format"/>), the chat template comes from
/// <see cref="WithTemplate"/>, the model folder's <c>tokenizer_config.json</c>, or the data format; labels follow
/// TRL's defaults (completion-only / assistant-only loss); a seeded validation split, optional packing and the data
/// report (logged) complete the run. Immutable like <see cref="FineTuner{TExample}"/>: every <c>With*</c> returns a new one.
/// </summary>
public sealed class SftTuner
{
    private readonly FineTuner<TokenSequence> _tuner;
    private readonly ITokenizer _tokenizer;
    private readonly IChatTemplate? _template;
    private readonly SftOptions _sft;
    private readonly ILoggerFactory _loggerFactory;
    private readonly int? _contextLength;

    internal SftTuner(FineTuner<TokenSequence> tuner, ITokenizer tokenizer, int? contextLength)
        : this(tuner, tokenizer, null, new SftOptions(), NullLoggerFactory.Instance, contextLength)
    {
    }

    private SftTuner(FineTuner<TokenSequence> tuner, ITokenizer tokenizer, IChatTemplate? template, SftOptions sft, ILoggerFactory loggerFactory, int? contextLength)
    {
        _tuner = tuner;
        _tokenizer = tokenizer;
        _template = template;
        _sft = sft;
        _loggerFactory = loggerFactory;
        _contextLength = contextLength;
    }

    /// <summary>The underlying builder (model, training options, adapters).</summary>
    public FineTuner<TokenSequence> Tuner => _tuner;

    /// <summary>A copy of the SFT options.</summary>
    public SftOptions SftOptions => _sft.Clone();

    /// <summary>The chat template given with <see cref="WithTemplate"/>, or null (then chosen when training starts).</summary>
    public IChatTemplate? Template => _template;

    /// <summary>Renders the examples with <paramref name="template"/> instead of the one from <c>tokenizer_config.json</c> or the data format.</summary>
    public SftTuner WithTemplate(IChatTemplate template)
    {
        ArgumentNullException.ThrowIfNull(template);
        return new SftTuner(_tuner, _tokenizer, template, _sft, _loggerFactory, _contextLength);
    }

    /// <summary>Returns a tuner whose SFT options are a copy of the current ones changed by <paramref name="configure"/>.</summary>
    public SftTuner WithSftOptions(Action<SftOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        SftOptions copy = _sft.Clone();
        configure(copy);
        return new SftTuner(_tuner, _tokenizer, _template, copy, _loggerFactory, _contextLength);
    }

    /// <summary>Changes the training options (epochs, learning rate, ...), as <see cref="FineTuner{TExample}.WithOptions(Action{TrainingOptions})"/>.</summary>
    public SftTuner WithOptions(Action<TrainingOptions> configure) => With(_tuner.WithOptions(configure));

    /// <summary>Applies <paramref name="adapter"/> when the run starts (extension packages add <c>WithLoRA</c> through this).</summary>
    public SftTuner WithAdapter(IModelAdapter adapter) => With(_tuner.WithAdapter(adapter));

    /// <summary>
    /// Changes the evaluation options (task metrics, generation metrics, forgetting, the prompting baseline), as
    /// <see cref="FineTuner{TExample}.WithEvaluation(Action{EvaluationOptions})"/>. Generation metrics and the prompting
    /// baseline need the validation split (<see cref="SftOptions.ValidationFraction"/> above 0).
    /// </summary>
    public SftTuner WithEvaluation(Action<EvaluationOptions> configure) => With(_tuner.WithEvaluation(configure));

    /// <summary>Evaluates with a copy of <paramref name="evaluation"/>, as <see cref="FineTuner{TExample}.WithEvaluation(EvaluationOptions)"/>.</summary>
    public SftTuner WithEvaluation(EvaluationOptions evaluation) => With(_tuner.WithEvaluation(evaluation));

    /// <summary>
    /// Calls <paramref name="callback"/> at the run's start, after each step, evaluation and warning (the
    /// <c>untrained_token</c> warnings included), and at its end, as <see cref="FineTuner{TExample}.WithCallback"/>
    /// (the Reporting package's <c>WithReport</c> adds one).
    /// </summary>
    public SftTuner WithCallback(ITrainingCallback callback) => With(_tuner.WithCallback(callback));

    /// <summary>Reports every optimizer step to <paramref name="progress"/>.</summary>
    public SftTuner WithProgress(IProgress<TrainingProgress> progress) => With(_tuner.WithProgress(progress));

    /// <summary>Logs the data report, the run and warnings through <paramref name="loggerFactory"/>.</summary>
    public SftTuner WithLogging(ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        return new SftTuner(_tuner.WithLogging(loggerFactory), _tokenizer, _template, _sft, loggerFactory, _contextLength);
    }

    /// <summary>
    /// Reads <paramref name="path"/> (JSON Lines or a JSON array), prepares it and trains the model in place. Before
    /// training it checks the EOS / end-of-turn tokens the labels teach: a row that looks untrained
    /// (<see cref="UntrainedTokens"/>) and is still unchanged after the run gives an <c>untrained_token</c> warning
    /// (logged and in <see cref="TrainingRun.Warnings"/>) suggesting trainable tokens.
    /// </summary>
    /// <exception cref="DataFormatException">A record is malformed (file, line and field named) or the format cannot be detected.</exception>
    /// <exception cref="ChatTemplateException">Conversations without a known chat template, or a template that cannot render one.</exception>
    /// <exception cref="InvalidConfigurationException">The SFT or training configuration has problems; all are listed.</exception>
    public SftRun Train(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        List<string> problems = _sft.Validate().ToList();
        if (problems.Count > 0) throw new InvalidConfigurationException(problems);
        ILogger logger = _loggerFactory.CreateLogger("FineTuning.Sft");
        nn.Module model = _tuner.Model;
        SftData data = SftData.Prepare(path, _sft, _template, _tokenizer, (model as IPretrainedModel)?.NameOrPath, _contextLength);
        SftLog.DataRead(logger, data.Contents.Chats.Count + data.Contents.Texts.Count, data.Contents.Format, Path.GetFileName(path), data.Contents.Skipped.Count, data.Template.Name);
        if (data.Report is not null) SftLog.Report(logger, data.Report.ToString());

        IReadOnlyList<UntrainedToken> untrained = UntrainedTokens.Find(model, data.EndTokens);
        // No dispose scope around the run: what training creates (adapter parameters, optimizer state) must outlive this call.
        using var check = new UntrainedTokenCheck(model, untrained, _tokenizer, logger);
        FineTuner<TokenSequence> tuner = untrained.Count == 0 ? _tuner : _tuner.WithCallback(check);
        TrainingRun run = _sft.Packing ? TrainPacked(tuner, data, logger, cancellationToken) : TrainSequences(tuner, data, logger, cancellationToken);
        return new SftRun(run, data.Contents.Format, data.Template, data.Labeler, data.Report, data.Train, data.Validation, data.ValidationChats, data.Contents.Skipped, untrained);
    }

    private static TrainingRun TrainSequences(FineTuner<TokenSequence> tuner, SftData data, ILogger logger, CancellationToken cancellationToken)
    {
        SftLog.Labeled(logger, data.Train.Sequences.Count, data.Train.Dropped.Count, data.Train.Truncated, data.Validation?.Sequences.Count ?? 0, data.Train.Sequences.Count, "");
        if (data.Validation is not null) tuner = tuner.WithValidation(data.Validation.Sequences);
        return tuner.Train(data.Train.Sequences, cancellationToken);
    }

    private TrainingRun TrainPacked(FineTuner<TokenSequence> sequences, SftData data, ILogger logger, CancellationToken cancellationToken)
    {
        IReadOnlyList<PackedSequence> rows = SequencePacker.Pack(data.Train.Sequences, _sft.MaxLength);
        SftLog.Labeled(logger, data.Train.Sequences.Count, data.Train.Dropped.Count, data.Train.Truncated, data.Validation?.Sequences.Count ?? 0, rows.Count,
            $" packed into rows of <= {_sft.MaxLength} tokens");
        FineTuner<PackedSequence> tuner = sequences.WithObjective(new PackedCausalLMObjective());
        if (data.Validation is not null) tuner = tuner.WithValidation(SequencePacker.Pack(data.Validation.Sequences, _sft.MaxLength));
        return tuner.Train(rows, cancellationToken);
    }

    private SftTuner With(FineTuner<TokenSequence> tuner) => new(tuner, _tokenizer, _template, _sft, _loggerFactory, _contextLength);
}
