using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using FineTuning.Adapters;
using FineTuning.Evaluation;
using FineTuning.Training;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;

namespace FineTuning;

/// <summary>
/// An immutable fine-tuning configuration for one model. Each <c>With*</c> returns a new builder and throws on a
/// bad argument; <see cref="Train"/> checks the whole configuration and reports every problem in one
/// <see cref="InvalidConfigurationException"/>. Extension packages add verbs (e.g. <c>WithLoRA</c>) through
/// <see cref="WithAdapter"/>.
/// </summary>
/// <typeparam name="TExample">The examples the objective consumes.</typeparam>
public sealed class FineTuner<TExample>
{
    private readonly torch.nn.Module _model;
    private readonly ITrainingObjective<TExample> _objective;
    private readonly TrainingOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly IProgress<TrainingProgress>? _progress;
    private readonly IReadOnlyList<TExample>? _validation;
    private readonly ImmutableList<IModelAdapter> _adapters;
    private readonly string? _resumeFrom;
    private readonly EvaluationOptions _evaluation;
    private readonly ImmutableList<ITrainingCallback> _callbacks;

    internal FineTuner(torch.nn.Module model, ITrainingObjective<TExample> objective)
        : this(model, objective, new TrainingOptions(), NullLoggerFactory.Instance, null, null, ImmutableList<IModelAdapter>.Empty, null, new EvaluationOptions())
    {
    }

    private FineTuner(torch.nn.Module model, ITrainingObjective<TExample> objective, TrainingOptions options,
        ILoggerFactory loggerFactory, IProgress<TrainingProgress>? progress, IReadOnlyList<TExample>? validation,
        ImmutableList<IModelAdapter> adapters, string? resumeFrom, EvaluationOptions evaluation, ImmutableList<ITrainingCallback>? callbacks = null)
    {
        _evaluation = evaluation;
        _callbacks = callbacks ?? ImmutableList<ITrainingCallback>.Empty;
        _resumeFrom = resumeFrom;
        _model = model;
        _objective = objective;
        _options = options;
        _loggerFactory = loggerFactory;
        _progress = progress;
        _validation = validation;
        _adapters = adapters;
    }

    /// <summary>The model this builder trains.</summary>
    public torch.nn.Module Model => _model;

    /// <summary>A copy of the current options (changing it does not change the builder).</summary>
    public TrainingOptions Options => _options.Clone();

    /// <summary>The adapters that will be applied when the run starts, in order.</summary>
    public IReadOnlyList<IModelAdapter> Adapters => _adapters;

    /// <summary>Returns a builder whose options are a copy of the current ones changed by <paramref name="configure"/>.</summary>
    public FineTuner<TExample> WithOptions(Action<TrainingOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        TrainingOptions copy = _options.Clone();
        configure(copy);
        return With(options: copy);
    }

    /// <summary>Returns a builder using a copy of <paramref name="options"/>.</summary>
    public FineTuner<TExample> WithOptions(TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return With(options: options.Clone());
    }

    /// <summary>Returns a builder that trains with <paramref name="objective"/> instead.</summary>
    public FineTuner<TExample> WithObjective(ITrainingObjective<TExample> objective)
    {
        ArgumentNullException.ThrowIfNull(objective);
        return new FineTuner<TExample>(_model, objective, _options, _loggerFactory, _progress, _validation, _adapters, _resumeFrom, _evaluation, _callbacks);
    }

    /// <summary>
    /// Returns a builder for another kind of example (e.g. preference pairs instead of token sequences) that keeps this
    /// builder's model, options, adapters, logging, progress and resume point. A validation set cannot carry over
    /// (its examples have the old type): set it again on the new builder.
    /// </summary>
    public FineTuner<TOther> WithObjective<TOther>(ITrainingObjective<TOther> objective)
    {
        ArgumentNullException.ThrowIfNull(objective);
        if (_validation is not null)
            throw new InvalidOperationException("Change the objective before calling WithValidation: the validation examples have the old example type.");
        return new FineTuner<TOther>(_model, objective, _options, _loggerFactory, _progress, null, _adapters, _resumeFrom, _evaluation, _callbacks);
    }

    /// <summary>Returns a builder that logs through <paramref name="loggerFactory"/> (default: no logging).</summary>
    public FineTuner<TExample> WithLogging(ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        return With(loggerFactory: loggerFactory);
    }

    /// <summary>Returns a builder that reports every optimizer step to <paramref name="progress"/>.</summary>
    public FineTuner<TExample> WithProgress(IProgress<TrainingProgress> progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        return With(progress: progress);
    }

    /// <summary>
    /// Returns a builder that measures the loss on <paramref name="validation"/> before training, every
    /// <see cref="TrainingOptions.EvaluateEverySteps"/> steps (or at each epoch end) and at the end of the run.
    /// The list is copied.
    /// </summary>
    public FineTuner<TExample> WithValidation(IReadOnlyList<TExample> validation)
    {
        ArgumentNullException.ThrowIfNull(validation);
        if (validation.Count == 0) throw new ArgumentException("The validation set is empty.", nameof(validation));
        return With(validation: validation.ToArray());
    }

    /// <summary>A copy of the evaluation options (changing it does not change the builder).</summary>
    public EvaluationOptions EvaluationOptions => _evaluation.Clone();

    /// <summary>
    /// Returns a builder whose evaluation options are a copy of the current ones changed by <paramref name="configure"/>:
    /// task metrics and the overfitting check (on by default), generation metrics, forgetting and the prompting baseline
    /// (see docs/evaluation.md).
    /// </summary>
    public FineTuner<TExample> WithEvaluation(Action<EvaluationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        EvaluationOptions copy = _evaluation.Clone();
        configure(copy);
        return With(evaluation: copy.Clone());
    }

    /// <summary>Returns a builder using a copy of <paramref name="evaluation"/>.</summary>
    public FineTuner<TExample> WithEvaluation(EvaluationOptions evaluation)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        return With(evaluation: evaluation.Clone());
    }

    /// <summary>The callbacks the run will call, in order (see <see cref="WithCallback"/>).</summary>
    public IReadOnlyList<ITrainingCallback> Callbacks => _callbacks;

    /// <summary>
    /// Returns a builder whose run also calls <paramref name="callback"/> (after earlier ones) at its start, after each
    /// step, evaluation and warning, and at its end (HF's <c>callbacks</c>): log writers, reports, custom hooks.
    /// </summary>
    public FineTuner<TExample> WithCallback(ITrainingCallback callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return new FineTuner<TExample>(_model, _objective, _options, _loggerFactory, _progress, _validation, _adapters, _resumeFrom, _evaluation, _callbacks.Add(callback));
    }

    /// <summary>Returns a builder that applies <paramref name="adapter"/> to the model when the run starts (after earlier ones).</summary>
    public FineTuner<TExample> WithAdapter(IModelAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        return new FineTuner<TExample>(_model, _objective, _options, _loggerFactory, _progress, _validation, _adapters.Add(adapter), _resumeFrom, _evaluation, _callbacks);
    }

    /// <summary>
    /// Returns a builder that continues the run saved in <paramref name="checkpoint"/> (a <c>checkpoint-N</c> folder, or the
    /// checkpoint directory, whose newest checkpoint is taken): trainable parameters, optimizer state, step, history and
    /// the data order are restored, so the loss curve continues as if the run had not stopped. The model, adapters and
    /// options must be those of the original run (checked: parameter names and shapes, seed).
    /// </summary>
    public FineTuner<TExample> ResumeFrom(string checkpoint)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(checkpoint);
        return new FineTuner<TExample>(_model, _objective, _options, _loggerFactory, _progress, _validation, _adapters, checkpoint, _evaluation, _callbacks);
    }

    /// <summary>Every problem that would stop <see cref="Train"/> on <paramref name="data"/>; empty when it can run.</summary>
    public IReadOnlyList<string> Validate(IReadOnlyList<TExample> data)
    {
        var problems = new List<string>(_options.Validate());
        if (data is null) problems.Add("The training data is null.");
        else if (data.Count == 0) problems.Add("The training data is empty.");
        else if (data.Any(e => e is null)) problems.Add("The training data contains null examples.");
        if (!_model.parameters().Any(p => p.requires_grad) && _adapters.IsEmpty)
            problems.Add("The model has no trainable parameters (every parameter has requires_grad = false).");
        foreach (IModelAdapter adapter in _adapters) problems.AddRange(adapter.Validate(_model));
        if (_options.GradientCheckpointing && _model is not ISupportsGradientCheckpointing)
            problems.Add($"GradientCheckpointing needs a model that supports it ({nameof(ISupportsGradientCheckpointing)}: LLaMA family, GPT-2); {_model.GetType().Name} does not.");
        if (_validation is null && _options.EarlyStopping is not null) problems.Add("EarlyStopping needs a validation set: call WithValidation.");
        if (_validation is null && _options.LoadBestAtEnd) problems.Add("LoadBestAtEnd needs a validation set: call WithValidation.");
        problems.AddRange(EvaluationProblems());
        return problems;
    }

    /// <summary>
    /// Trains the model in place and returns the run (metrics, history, evaluations). Stops at a step boundary when
    /// <paramref name="cancellationToken"/> is cancelled and returns what was done (<see cref="TrainingRun.Cancelled"/>).
    /// </summary>
    /// <exception cref="InvalidConfigurationException">The configuration or data has problems; all are listed.</exception>
    /// <exception cref="NonFiniteLossException">A loss was NaN or infinite and the policy is <see cref="NonFiniteLossPolicy.Throw"/>.</exception>
    public TrainingRun Train(IReadOnlyList<TExample> data, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<string> problems = Validate(data);
        if (problems.Count > 0) throw new InvalidConfigurationException(problems);
        ILogger logger = _loggerFactory.CreateLogger("FineTuning.Trainer");
        var trainer = new Trainer<TExample>(_model, _objective, _options, logger, _progress, _validation, _adapters, _resumeFrom, _evaluation, _callbacks);
        return trainer.Run(data, cancellationToken);
    }

    /// <summary>
    /// Mean loss per target of the model on <paramref name="data"/> (no gradients, evaluation mode), with the objective's
    /// task metrics (accuracy, macro-F1, <c>mean_token_accuracy</c>) unless <see cref="EvaluationOptions.TaskMetrics"/> is off.
    /// </summary>
    public EvaluationMetrics Evaluate(IReadOnlyList<TExample> data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count == 0) throw new ArgumentException("The evaluation set is empty.", nameof(data));
        return Training.Evaluation.Loss(_model, _objective, data, _options.BatchSize, torch.device(_options.Device), 0, _evaluation.TaskMetrics);
    }

    private IEnumerable<string> EvaluationProblems()
    {
        foreach (string p in _evaluation.Validate()) yield return p;
        if (_evaluation.Generation is not null && _validation is null)
            yield return "EvaluationOptions.Generation needs a validation set (its metrics are part of the step-0 and final evaluations): call WithValidation.";
        if (_evaluation.Generation is not null && _model is not Generation.ICausalLanguageModel)
            yield return $"EvaluationOptions.Generation needs a model that generates text (ICausalLanguageModel); got {_model.GetType().Name}.";
        if (_evaluation.Forgetting is not null && _model is not torch.nn.Module<torch.Tensor, torch.Tensor>)
            yield return $"EvaluationOptions.Forgetting needs a causal LM mapping token ids to logits (Module<Tensor, Tensor>); got {_model.GetType().Name}.";
    }

    private FineTuner<TExample> With(TrainingOptions? options = null, ILoggerFactory? loggerFactory = null,
        IProgress<TrainingProgress>? progress = null, IReadOnlyList<TExample>? validation = null, EvaluationOptions? evaluation = null) =>
        new(_model, _objective, options ?? _options, loggerFactory ?? _loggerFactory, progress ?? _progress,
            validation ?? _validation, _adapters, _resumeFrom, evaluation ?? _evaluation, _callbacks);
}
