"""Attribution scores and pruning: the few edges and nodes that carry the function.

Scores flow backwards from the outputs. An output node has score 1. Each node shares
its score among its incoming edges in proportion to how much each edge varies over the
data (the standard deviation of its output); a node's score is the sum of the scores of
its outgoing edges. A product node passes its score to both of its factors.

Pruning keeps the hidden nodes, inputs and edges whose score reaches a threshold, and
returns a new, smaller model. The mean of every removed edge over the data is folded
into the bias of its output node, so the pruned model computes the original function
minus the variation of the removed contributions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ._arrays import as_tensor_2d
from .nn.network import KAN

__all__ = ["Attribution", "attribution", "prune"]


@dataclass(frozen=True)
class Attribution:
    """Importance of every edge and node.

    Attributes
    ----------
    edges : list of Tensor
        Per layer, shape (n_out, n_in): the share of the output score each edge carries.
    nodes : list of Tensor
        Per node layer (inputs first, outputs last), shape (n_nodes,).
    edge_means : list of Tensor
        Per layer, shape (n_out, n_in): each edge's mean output on the data.
    """

    edges: list[Tensor]
    nodes: list[Tensor]
    edge_means: list[Tensor]


@torch.no_grad()
def attribution(model: KAN, X: Any) -> Attribution:
    """Edge and node importance of ``model`` on the inputs ``X``."""
    p = next(model.parameters())
    x = as_tensor_2d(X, "X", p.dtype, p.device)
    values = model.edge_values(x)
    spread = [v.std(0) if v.shape[0] > 1 else v.abs().mean(0) for v in values]
    node = torch.ones(model.n_outputs, dtype=p.dtype, device=p.device)
    nodes, edges = [node], []
    for l in range(len(model.layers) - 1, -1, -1):
        sub = _node_to_subnode_scores(model, l, node)
        share = spread[l] / spread[l].sum(1, keepdim=True).clamp_min(1e-30)
        edge = share * sub[:, None]
        node = edge.sum(0)
        edges.insert(0, edge)
        nodes.insert(0, node)
    return Attribution(edges, nodes, [v.mean(0) for v in values])


def _node_to_subnode_scores(model: KAN, l: int, node: Tensor) -> Tensor:
    """Scores of the outputs of layer ``l`` from the scores of the nodes they feed."""
    n_sum = model.width[l + 1][0]
    return torch.cat([node[:n_sum], node[n_sum:].repeat_interleave(2)])


@torch.no_grad()
def prune(
    model: KAN,
    X: Any,
    node_threshold: float = 1e-2,
    edge_threshold: float = 3e-2,
    prune_inputs: bool = True,
) -> KAN:
    """A new, smaller model without the unimportant nodes, inputs and edges.

    Parameters
    ----------
    model : KAN
        The trained network (left unchanged).
    X : array-like of shape (n, n_inputs)
        Data that defines importance (the training inputs).
    node_threshold : float
        Hidden nodes and inputs with a smaller score are removed.
    edge_threshold : float
        Edges with a smaller score are masked out.
    prune_inputs : bool
        Whether to drop unimportant inputs. The pruned model remembers which columns
        of the original inputs it reads, and accepts either table.

    Returns
    -------
    KAN
    """
    for name, th in (("node_threshold", node_threshold), ("edge_threshold", edge_threshold)):
        if not 0 <= th < 1:
            raise ValueError(f"{name} must be in [0, 1), got {th!r}")
    att = attribution(model, X)
    keep = _kept_nodes(model, att, node_threshold, prune_inputs)
    new = model.clone()
    new.width = [(keep[l][0].numel(), keep[l][1].numel()) for l in range(len(model.width))]
    for l, layer in enumerate(model.layers):
        out_idx = _subnode_index(model, l, keep[l + 1])
        in_idx = torch.cat(keep[l])
        dead = (att.edges[l] < edge_threshold) | (layer.mask == 0)
        bias_shift = (att.edge_means[l] * dead * layer.mask).sum(1)
        sub = layer.subset(out_idx.tolist(), in_idx.tolist())
        sub.bias.data += bias_shift[out_idx]
        sub.mask.mul_((~dead[out_idx][:, in_idx]).to(sub.mask))
        new.layers[l] = sub
    inputs = keep[0][0].tolist()
    new.input_index = tuple(model.input_index[i] for i in inputs)
    return new


def _kept_nodes(model: KAN, att: Attribution, th: float, prune_inputs: bool):
    """Per node layer, the kept (sum node indices, product node indices)."""
    keep = []
    for l, (n_sum, _) in enumerate(model.width):
        score = att.nodes[l]
        frozen = l == len(model.width) - 1 or (l == 0 and not prune_inputs)
        alive = torch.ones_like(score, dtype=torch.bool) if frozen else score >= th
        if not bool(alive.any()):
            alive[int(score.argmax())] = True
        idx = torch.nonzero(alive).flatten()
        keep.append((idx[idx < n_sum], idx[idx >= n_sum]))
    return keep


def _subnode_index(model: KAN, l: int, kept: tuple[Tensor, Tensor]) -> Tensor:
    """Outputs of layer ``l`` that feed the kept nodes of layer ``l + 1``."""
    n_sum = model.width[l + 1][0]
    sums, mults = kept
    pairs = n_sum + 2 * (mults - n_sum)
    return torch.cat([sums, torch.stack([pairs, pairs + 1], 1).flatten()]).long()
