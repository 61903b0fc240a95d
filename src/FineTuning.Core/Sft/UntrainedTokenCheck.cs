using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using FineTuning.Adapters;
using FineTuning.Models;
using FineTuning.Models.Tokenizers;
using FineTuning.Training;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Sft;

/// <summary>
/// Copies the rows of the end-of-turn / EOS tokens that looked untrained before the run, and at its end raises an
/// <c>untrained_token</c> warning for each row the run left unchanged. It runs as an end-of-run check, so callbacks
/// (log writers, the report) see the warning like any other. Dispose it to free the copies.
/// </summary>
internal sealed class UntrainedTokenCheck : ITrainingCallback, IRunEndCheck, IDisposable
{
    private readonly nn.Module _model;
    private readonly IReadOnlyList<UntrainedToken> _tokens;
    private readonly ITokenizer _tokenizer;
    private readonly ILogger _logger;
    private readonly Dictionary<(int, string), Tensor> _before;

    public UntrainedTokenCheck(nn.Module model, IReadOnlyList<UntrainedToken> tokens, ITokenizer tokenizer, ILogger logger)
    {
        _model = model;
        _tokens = tokens;
        _tokenizer = tokenizer;
        _logger = logger;
        // Outside any dispose scope of the run: the copies must outlive the training steps.
        _before = tokens.ToDictionary(u => (u.Id, u.Module), u => Row(model, u.Module, u.Id));
    }

    public void Check(TrainingRun run)
    {
        foreach (UntrainedToken u in _tokens)
        {
            bool unchanged;
            using (torch.NewDisposeScope()) unchanged = Row(_model, u.Module, u.Id).equal(_before[(u.Id, u.Module)]).all().item<bool>();
            if (!unchanged) continue; // the run trained this row
            string text = _tokenizer.Decode(new[] { u.Id });
            string message = string.Create(CultureInfo.InvariantCulture,
                $"Token {u.Id}{(text.Length > 0 ? $" (\"{text}\")" : "")} ends the learned turns, but its row in {u.Module} looks untrained ({u.Reason}) and this run did not change it: " +
                $"the model can hardly learn to emit it. Train that row: LoRA's TrainableTokenIndices = [{u.Id}] (PEFT's trainable_token_indices), or fine-tune fully.");
            run.WarningList.Add(new TrainingWarning("untrained_token", run.StepsCompleted, message));
            SftLog.UntrainedToken(_logger, message);
        }
    }

    public void Dispose()
    {
        foreach (Tensor t in _before.Values) t.Dispose();
        _before.Clear();
    }

    /// <summary>A copy of row <paramref name="id"/> of the named embedding or head as the model computes with it now.</summary>
    private static Tensor Row(nn.Module model, string module, int id)
    {
        using var scope = torch.NewDisposeScope();
        nn.Module m = model.named_modules().First(x => x.name == module).module;
        return TokenEmbeddings.Row(m, id).clone().MoveToOuterDisposeScope();
    }
}
