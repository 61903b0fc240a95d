using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>Moments (and fp32 master weights for low-precision parameters) of one AdamW run.</summary>
internal sealed class AdamWState : IOptimizerState
{
    private readonly AdamWOptimizer _options;
    private readonly List<Slot> _slots = new();
    private readonly Tensor _stepTensor = zeros(Array.Empty<long>(), ScalarType.Int64).DetachFromDisposeScope();
    private long _step;

    public AdamWState(AdamWOptimizer options, IReadOnlyList<TrainableParameter> parameters)
    {
        _options = options;
        using (no_grad())
        {
            foreach (TrainableParameter p in parameters)
            {
                bool decay = p.ApplyWeightDecay || options.DecayNormsAndBiases;
                _slots.Add(new Slot(p.Name, p.Parameter, decay, MasterWeights.For(p.Parameter),
                    zeros_like(p.Parameter, dtype: MasterWeights.StateType(p.Parameter)).DetachFromDisposeScope(),
                    zeros_like(p.Parameter, dtype: MasterWeights.StateType(p.Parameter)).DetachFromDisposeScope()));
            }
        }
    }

    public void Step(double learningRate)
    {
        _step++;
        double bias1 = 1 - Math.Pow(_options.Beta1, _step);
        double bias2 = 1 - Math.Pow(_options.Beta2, _step);
        // Scalars are native objects outside any dispose scope: create them once per step and dispose them.
        using Scalar beta1 = _options.Beta1, oneMinusBeta1 = 1 - _options.Beta1;
        using Scalar beta2 = _options.Beta2, oneMinusBeta2 = 1 - _options.Beta2;
        using Scalar sqrtBias2 = Math.Sqrt(bias2), eps = _options.Epsilon;
        using Scalar stepSize = -learningRate / bias1, decay = 1 - learningRate * _options.WeightDecay;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (Slot s in _slots)
        {
            Tensor? grad = s.Parameter.grad;
            if (grad is null) continue;
            if (s.Master is null && OptimizerKernels.Applies(s.Parameter) && OptimizerKernels.Applies(grad) && OptimizerKernels.Applies(s.M) && OptimizerKernels.Applies(s.V))
            {
                // float32 without master weights (LoRA's factors): the same update as one C# loop (OptimizerKernels).
                OptimizerKernels.AdamW(s.Parameter, grad, s.M, s.V, (float)_options.Beta1, (float)_options.Beta2, (float)Math.Sqrt(bias2), (float)_options.Epsilon,
                    (float)(-learningRate / bias1), s.Decay && _options.WeightDecay != 0 ? (float)(1 - (learningRate * _options.WeightDecay)) : 1f);
                continue;
            }

            Tensor g = grad.dtype == s.M.dtype ? grad : grad.to(s.M.dtype);
            Tensor target = s.Master?.Weights ?? s.Parameter;
            if (s.Decay && _options.WeightDecay != 0) target.mul_(decay);
            s.M.mul_(beta1).add_(g, alpha: oneMinusBeta1);
            s.V.mul_(beta2).addcmul_(g, g, value: oneMinusBeta2);
            Tensor denom = s.V.sqrt().div_(sqrtBias2).add_(eps);
            target.addcdiv_(s.M, denom, value: stepSize);
            s.Master?.CopyToParameter();
        }
    }

    public void Dispose()
    {
        foreach (Slot s in _slots)
        {
            s.M.Dispose();
            s.V.Dispose();
            s.Master?.Dispose();
        }
        _slots.Clear();
        _stepTensor.Dispose();
    }

    public IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal) { ["step"] = _stepTensor.fill_(_step) };
        foreach (Slot s in _slots)
        {
            state[s.Name + ".exp_avg"] = s.M;
            state[s.Name + ".exp_avg_sq"] = s.V;
            if (s.Master is not null) state[s.Name + ".master"] = s.Master.Weights;
        }
        return state;
    }

    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        // Everything is checked before anything changes: a bad entry leaves the run's state as it was.
        OptimizerStateIO.CheckKeys(state, StateDict().Keys);
        long step = OptimizerStateIO.ReadStep(state["step"], "step");
        foreach (Slot s in _slots)
        {
            OptimizerStateIO.CheckFits(s.M, state[s.Name + ".exp_avg"], s.Name + ".exp_avg");
            OptimizerStateIO.CheckFits(s.V, state[s.Name + ".exp_avg_sq"], s.Name + ".exp_avg_sq");
            if (s.Master is not null) OptimizerStateIO.CheckFits(s.Master.Weights, state[s.Name + ".master"], s.Name + ".master");
        }
        using var noGrad = no_grad();
        foreach (Slot s in _slots)
        {
            s.M.copy_(state[s.Name + ".exp_avg"]);
            s.V.copy_(state[s.Name + ".exp_avg_sq"]);
            if (s.Master is not null)
            {
                s.Master.Weights.copy_(state[s.Name + ".master"]);
                s.Master.CopyToParameter();
            }
        }
        _step = step;
    }

    private sealed record Slot(string Name, TorchSharp.Modules.Parameter Parameter, bool Decay, MasterWeights? Master, Tensor M, Tensor V);
}
