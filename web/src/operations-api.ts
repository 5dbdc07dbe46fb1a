import type {
  ApproveRequest,
  AuditPage,
  CreatedWebhookBody,
  MaintenanceList,
  MaintenanceRequest,
  MaintenanceWindowBody,
  ServiceRequestBody,
  ServiceRequestInput,
  WebhookBody,
  WebhookDeliveryBody,
} from '../../src/api/operations.js'
import { getJson, send, sendJson } from './api.js'

export type { AuditEventBody, MaintenanceWindowBody, ServiceRequestBody, WebhookBody } from '../../src/api/operations.js'

/** The operations calls (docs/operations.md): maintenance, audit, requests, webhooks. */
export const operationsApi = {
  /** Public: the login page shows the banner too. */
  maintenance: () => getJson<MaintenanceList>('/api/v1/system/maintenance', { isLogin: true }),
  scheduleMaintenance: (body: MaintenanceRequest) => sendJson<MaintenanceWindowBody>('POST', '/api/v1/system/maintenance', body),
  changeMaintenance: (id: string, body: { end?: string; endNow?: boolean }) => sendJson<MaintenanceWindowBody>('PATCH', `/api/v1/system/maintenance/${encodeURIComponent(id)}`, body),
  audit: (query: Record<string, string>) => getJson<AuditPage>(`/api/v1/audit?${new URLSearchParams(Object.entries(query).filter(([, v]) => v !== ''))}`),
  requests: (query = '') => getJson<{ requests: ServiceRequestBody[] }>(`/api/v1/requests${query}`),
  submitRequest: (body: ServiceRequestInput) => sendJson<ServiceRequestBody>('POST', '/api/v1/requests', body),
  approveRequest: (id: string, body: ApproveRequest) => sendJson<ServiceRequestBody>('POST', `/api/v1/requests/${encodeURIComponent(id)}/approve`, body),
  declineRequest: (id: string, reason: string) => sendJson<ServiceRequestBody>('POST', `/api/v1/requests/${encodeURIComponent(id)}/decline`, { reason }),
  webhooks: () => getJson<{ webhooks: WebhookBody[] }>('/api/v1/webhooks'),
  createWebhook: (body: { name: string; url: string; events: string[] }) => sendJson<CreatedWebhookBody>('POST', '/api/v1/webhooks', body),
  deleteWebhook: (id: string) => send('DELETE', `/api/v1/webhooks/${encodeURIComponent(id)}`),
  deliveries: (id: string) => getJson<{ deliveries: WebhookDeliveryBody[] }>(`/api/v1/webhooks/${encodeURIComponent(id)}/deliveries`),
}
