/**
 * Microsoft.Compute routes: scale sets (read, create/update, scale, delete, deleteInstances),
 * Uniform scale set VMs and Flexible (plain) VMs. Paths and API shapes follow what
 * `@azure/arm-compute` sends (see its `api/virtualMachineScaleSets/operations.js` and friends).
 *
 * Writes complete synchronously: the answer already carries the new model, and the instances it
 * created or removed then follow the world's lifecycle (Creating → Succeeded, Deleting → gone).
 * ARM itself would answer 202 with an Azure-AsyncOperation to poll; no client we use needs that.
 */
import { z } from 'zod';
import { ArmEmulatorError, notFound } from './arm-error';
import { flexibleVmJson, instanceViewJson, scaleSetJson, uniformVmJson } from './arm-json';
import { numericKey } from './paging';
import { expandsInstanceView, invalidBody, paged, param, requireScaleSet, requireScope, restOrigin, route } from './router';
import type { Reply, Route, RouteContext } from './router';
import type { EmulatedInstance, EmulatedScaleSet } from './world-types';

const SUB = '/subscriptions/{sub}';
const RG = `${SUB}/resourceGroups/{rg}`;
const VMSS = `${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{vmss}`;
const VM = `${RG}/providers/Microsoft.Compute/virtualMachines/{vm}`;

const tags = z.record(z.string(), z.string());
const putBody = z.looseObject({
  location: z.string().min(1),
  tags: tags.optional(),
  zones: z.array(z.string()).optional(),
  sku: z.looseObject({ name: z.string().optional(), capacity: z.number().int().min(0).max(1000).optional() }).optional(),
  properties: z
    .looseObject({
      orchestrationMode: z.enum(['Uniform', 'Flexible']).optional(),
      platformFaultDomainCount: z.number().int().min(1).optional(),
    })
    .optional(),
});
const patchBody = z.looseObject({
  tags: tags.optional(),
  sku: z.looseObject({ capacity: z.number().int().min(0).max(1000).optional() }).optional(),
});
const deleteInstancesBody = z.object({ instanceIds: z.array(z.string().min(1)).min(1) });

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) {
    const why = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    throw invalidBody(`The request content was invalid and could not be deserialized: ${why}`);
  }
  return result.data;
}

/** 202 while instances still drain (the change is accepted, not finished), 200 once it is. */
function acceptedOrDone(ctx: RouteContext): Reply {
  return { status: ctx.world.pendingTransitions > 0 ? 202 : 200 };
}

function uniformOnly(ss: EmulatedScaleSet, what: string): void {
  if (ss.orchestrationMode !== 'Uniform') {
    throw new ArmEmulatorError(409, 'OperationNotAllowed', `Operation '${what}' is not allowed on scale set '${ss.name}' with Flexible orchestration mode.`);
  }
}

function requireVmssVm(ctx: RouteContext): { ss: EmulatedScaleSet; vm: EmulatedInstance } {
  const ss = requireScaleSet(ctx);
  uniformOnly(ss, 'VirtualMachineScaleSetVMs');
  const vm = ctx.world.viewInstance(ss.id, param(ctx, 'instanceId'));
  if (!vm) throw notFound('NotFound', `The entity was not found in this resource group: instance '${param(ctx, 'instanceId')}' of '${ss.name}'.`);
  return { ss, vm };
}

function requireFlexibleVm(ctx: RouteContext): { ss: EmulatedScaleSet; vm: EmulatedInstance } {
  requireScope(ctx);
  const vm = ctx.world.findFlexibleVm(param(ctx, 'sub'), param(ctx, 'rg'), param(ctx, 'vm'));
  const ss = vm && ctx.world.getScaleSet(vm.scaleSetId);
  if (!vm || !ss) {
    throw notFound(
      'ResourceNotFound',
      `The Resource 'Microsoft.Compute/virtualMachines/${param(ctx, 'vm')}' under resource group '${param(ctx, 'rg')}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
    );
  }
  return { ss, vm };
}

/** `$filter='virtualMachineScaleSet/id' eq '<id>'`, the one filter VM listings are asked for. */
function scaleSetFilter(ctx: RouteContext): string | undefined {
  const filter = ctx.query.get('$filter');
  if (filter === null || filter.trim() === '') return undefined;
  const match = /^\s*'?virtualMachineScaleSet\/id'?\s+eq\s+'([^']+)'\s*$/i.exec(filter);
  if (!match?.[1]) throw new ArmEmulatorError(400, 'InvalidParameter', `The value of parameter $filter is not supported: ${filter}`);
  return match[1].toLowerCase();
}

function listFlexibleVms(ctx: RouteContext, resourceGroup?: string): Reply {
  requireScope(ctx);
  const filterId = scaleSetFilter(ctx);
  const expand = expandsInstanceView(ctx);
  if (expand && filterId === undefined) {
    // ARM: "'instanceView' … can only be specified if a valid $filter option is specified".
    throw new ArmEmulatorError(400, 'InvalidParameter', "The $expand option 'instanceView' can only be specified together with a valid $filter option.");
  }
  const vms = () => ctx.world.viewFlexibleVms(param(ctx, 'sub'), resourceGroup).filter((vm) => filterId === undefined || vm.scaleSetId.toLowerCase() === filterId);
  const scaleSets = new Map<string, EmulatedScaleSet | undefined>(); // each read once per request
  return paged(ctx, vms, (vm) => vm.id.toLowerCase(), (vm) => {
    if (!scaleSets.has(vm.scaleSetId)) scaleSets.set(vm.scaleSetId, ctx.world.getScaleSet(vm.scaleSetId));
    const ss = scaleSets.get(vm.scaleSetId);
    return ss ? flexibleVmJson(vm, ss, expand, ctx.json) : undefined;
  });
}

export const computeRoutes: readonly Route[] = [
  route('vmss.listAll', 'GET', `${SUB}/providers/Microsoft.Compute/virtualMachineScaleSets`, (ctx) => {
    requireScope(ctx);
    return paged(ctx, ctx.world.listScaleSets({ subscriptionId: param(ctx, 'sub') }), (ss) => ss.id.toLowerCase(), scaleSetJson);
  }),
  route('vmss.list', 'GET', `${RG}/providers/Microsoft.Compute/virtualMachineScaleSets`, (ctx) => {
    requireScope(ctx);
    return paged(ctx, ctx.world.listScaleSets({ subscriptionId: param(ctx, 'sub'), resourceGroup: param(ctx, 'rg') }), (ss) => ss.id.toLowerCase(), scaleSetJson);
  }),
  route('vmss.get', 'GET', VMSS, (ctx) => ({ status: 200, body: scaleSetJson(requireScaleSet(ctx)) })),
  route('vmss.createOrUpdate', 'PUT', VMSS, (ctx) => {
    const body = parseBody(putBody, ctx.body);
    requireScope(ctx);
    const ref = { subscriptionId: param(ctx, 'sub'), resourceGroup: param(ctx, 'rg'), name: param(ctx, 'vmss') };
    const existing = ctx.world.getScaleSet(ref);
    const mode = body.properties?.orchestrationMode;
    if (existing) {
      if (mode !== undefined && mode !== existing.orchestrationMode) {
        throw new ArmEmulatorError(400, 'PropertyChangeNotAllowed', "Changing property 'orchestrationMode' is not allowed.");
      }
      // PUT replaces the model: tags left out are removed.
      const updated = ctx.world.updateScaleSet(existing.id, { tags: body.tags ?? {}, ...(body.sku?.capacity === undefined ? {} : { capacity: body.sku.capacity }) }, restOrigin(ctx));
      return { status: 200, body: scaleSetJson(updated) };
    }
    const created = ctx.world.createScaleSet(
      {
        ...ref,
        location: body.location,
        ...(body.zones === undefined ? {} : { zones: body.zones }),
        ...(body.tags === undefined ? {} : { tags: body.tags }),
        capacity: body.sku?.capacity ?? 0,
        ...(mode === undefined ? {} : { orchestrationMode: mode }),
        ...(body.sku?.name === undefined ? {} : { vmSize: body.sku.name }),
        ...(body.properties?.platformFaultDomainCount === undefined ? {} : { platformFaultDomainCount: body.properties.platformFaultDomainCount }),
      },
      restOrigin(ctx),
    );
    return { status: 201, body: scaleSetJson(created) };
  }),
  route('vmss.update', 'PATCH', VMSS, (ctx) => {
    const body = parseBody(patchBody, ctx.body);
    const ss = requireScaleSet(ctx);
    const update = { ...(body.tags === undefined ? {} : { tags: body.tags }), ...(body.sku?.capacity === undefined ? {} : { capacity: body.sku.capacity }) };
    return { status: 200, body: scaleSetJson(ctx.world.updateScaleSet(ss.id, update, restOrigin(ctx))) };
  }),
  route('vmss.delete', 'DELETE', VMSS, (ctx) => {
    requireScope(ctx);
    const ss = ctx.world.getScaleSet({ subscriptionId: param(ctx, 'sub'), resourceGroup: param(ctx, 'rg'), name: param(ctx, 'vmss') });
    if (!ss) return { status: 204 }; // ARM: deleting what is not there succeeds with No Content
    ctx.world.deleteScaleSet(ss.id, restOrigin(ctx));
    return acceptedOrDone(ctx);
  }),
  route('vmss.deleteInstances', 'POST', `${VMSS}/delete`, (ctx) => {
    const body = parseBody(deleteInstancesBody, ctx.body);
    const ss = requireScaleSet(ctx);
    ctx.world.deleteInstances(ss.id, body.instanceIds, restOrigin(ctx, ctx.path.replace(/\/delete\/?$/i, '')));
    return acceptedOrDone(ctx);
  }),
  route('vmssVm.list', 'GET', `${VMSS}/virtualMachines`, (ctx) => {
    const ss = requireScaleSet(ctx);
    uniformOnly(ss, 'VirtualMachineScaleSetVMs.List');
    const expand = expandsInstanceView(ctx);
    return paged(ctx, ctx.world.viewInstances(ss.id), (vm) => numericKey(vm.instanceId), (vm) => uniformVmJson(vm, ss, expand));
  }),
  route('vmssVm.get', 'GET', `${VMSS}/virtualMachines/{instanceId}`, (ctx) => {
    const { ss, vm } = requireVmssVm(ctx);
    return { status: 200, body: uniformVmJson(vm, ss, expandsInstanceView(ctx)) };
  }),
  route('vmssVm.instanceView', 'GET', `${VMSS}/virtualMachines/{instanceId}/instanceView`, (ctx) => ({
    status: 200,
    body: instanceViewJson(requireVmssVm(ctx).vm),
  })),
  route('vmssVm.delete', 'DELETE', `${VMSS}/virtualMachines/{instanceId}`, (ctx) => {
    const { ss, vm } = requireVmssVm(ctx);
    ctx.world.deleteVm(ss.id, vm.instanceId, restOrigin(ctx));
    return acceptedOrDone(ctx);
  }),
  route('vm.listAll', 'GET', `${SUB}/providers/Microsoft.Compute/virtualMachines`, (ctx) => listFlexibleVms(ctx)),
  route('vm.list', 'GET', `${RG}/providers/Microsoft.Compute/virtualMachines`, (ctx) => listFlexibleVms(ctx, param(ctx, 'rg'))),
  route('vm.get', 'GET', VM, (ctx) => {
    const { ss, vm } = requireFlexibleVm(ctx);
    return { status: 200, body: flexibleVmJson(vm, ss, expandsInstanceView(ctx), ctx.json) };
  }),
  route('vm.instanceView', 'GET', `${VM}/instanceView`, (ctx) => ({ status: 200, body: instanceViewJson(requireFlexibleVm(ctx).vm) })),
  route('vm.delete', 'DELETE', VM, (ctx) => {
    requireScope(ctx);
    const vm = ctx.world.findFlexibleVm(param(ctx, 'sub'), param(ctx, 'rg'), param(ctx, 'vm'));
    if (!vm) return { status: 204 };
    ctx.world.deleteVm(vm.scaleSetId, vm.instanceId, restOrigin(ctx));
    return acceptedOrDone(ctx);
  }),
];
